// y = x · Wᵀ for a weight matrix W [rows=out, cols=in] stored F32 or BF16 (HF nn.Linear layout).
// F32 goes to OpenBLAS; BF16 is widened on the fly (tile-wise for GEMM, in registers for the matvec of decode).
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "kernels/quant_formats.h"

namespace hyb {

struct WeightMat {
  DType dtype = DType::F32;  // F32, BF16, or block-quantized Q8_0 / Q4_0 (kernels/quant_formats.h)
  const void* data = nullptr;
  int64_t rows = 0, cols = 0;

  const float* f32() const { return static_cast<const float*>(data); }
  const uint16_t* bf16() const { return static_cast<const uint16_t*>(data); }
  const uint8_t* u8() const { return static_cast<const uint8_t*>(data); }
  size_t bytes() const {
    return is_quant_dtype(dtype) ? quant_matrix_bytes(dtype, rows, cols) : size_t(rows) * size_t(cols) * dtype_size(dtype);
  }
};

// How BF16 weights are multiplied in GEMMs (M > 8 rows, i.e. prefill). Fast rounds the activations to bf16 too
// and uses AVX512-BF16 dot products where the CPU has them (runtime check; elsewhere it is Exact). Exact widens the
// weights to f32, so results match F32 compute on the same rounded weights. Decode-sized M (<= 8) is always exact:
// it is bandwidth-bound either way. Default Fast, or Exact when the environment sets HYBRID_BF16_EXACT=1.
enum class Bf16Math { Fast, Exact };
void set_bf16_math(Bf16Math m);
Bf16Math bf16_math();
bool bf16_fast_active();  // Fast selected and supported by this CPU

// y[m, n] (row stride ldy) = beta·y + Σ_k x[m, k] W[n, k], x row stride ldx. beta is 0 or 1.
void linear(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy, float beta = 0.f);
inline void linear(const float* x, int64_t M, const WeightMat& W, float* y, float beta = 0.f) {
  linear(x, M, W.cols, W, y, W.rows, beta);
}

// Several weight matrices applied to the same input: y_i = x · W_iᵀ (beta 0). For decode-sized M and BF16 weights
// the rows of all matrices share one parallel region (one fork/join per group instead of one per matrix).
struct LinearOut {
  const WeightMat* W;
  float* y;
  int64_t ldy;
};
void linear_multi(const float* x, int64_t M, int64_t ldx, const LinearOut* outs, int n_outs);

// Row-wise form for decode rows and other short segments: every output y[m, n] is one dot product of x[m] and
// W[n] computed in a fixed order, so a row's result is bit-identical whatever rows share the call (batch
// invariance: the model core stacks the decode rows of many sequences here). Weights are read once per call
// (memory-bound decode); F32/BF16 widen in registers, quantized formats use their int8 matvec. Any M.
void linear_rowwise(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy,
                    float beta = 0.f);
void linear_rowwise_multi(const float* x, int64_t M, int64_t ldx, const LinearOut* outs, int n_outs);

// Row `r` of W widened to f32 (embedding lookup).
void weight_row_f32(const WeightMat& W, int64_t r, float* out);

}  // namespace hyb
