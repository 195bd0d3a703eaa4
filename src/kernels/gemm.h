// y = x · Wᵀ for a weight matrix W [rows=out, cols=in] stored F32 or BF16 (HF nn.Linear layout).
// F32 goes to OpenBLAS; BF16 is widened on the fly (tile-wise for GEMM, in registers for the matvec of decode).
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "kernels/gemm_mixed.h"
#include "kernels/quant_formats.h"

namespace hyb {

struct WeightMat {
  DType dtype = DType::F32;  // F32, BF16, or block-quantized Q8_0 / Q4_0 (kernels/quant_formats.h)
  const void* data = nullptr;
  int64_t rows = 0, cols = 0;
  // F32 weights only: BF16 makes every GEMM with this matrix (forward, and the backward's dx and dW) a
  // mixed-precision one (kernels/gemm_mixed.h). Training with `precision: bf16` sets it on its master weights.
  Precision products = Precision::F32;

  const float* f32() const { return static_cast<const float*>(data); }
  const uint16_t* bf16() const { return static_cast<const uint16_t*>(data); }
  const uint8_t* u8() const { return static_cast<const uint8_t*>(data); }
  size_t bytes() const {
    return is_quant_dtype(dtype) ? quant_matrix_bytes(dtype, rows, cols) : size_t(rows) * size_t(cols) * dtype_size(dtype);
  }
};

// The precision contract for products with BF16 weights (F32 weights always go to SGEMM in f32; for quantized
// weights see kernels/quant_matmul.h: decode rows always use int8 activations, prompt rows only in Fast). Exact
// widens the weights to f32 and multiplies in f32, so results equal F32 compute on the same rounded weights. Fast also rounds the activations to bf16 (round-to-nearest-even)
// and uses AVX512-BF16 dot products (f32 accumulation) where the CPU has them (runtime check; elsewhere Fast is
// Exact): the panel GEMM for prefill, the row-wise kernel for decode rows (still batch-invariant). Process-wide;
// every command that runs the model sets it from its --compute option (library default Exact).
enum class Compute { Exact, Fast };
void set_compute(Compute m);
Compute compute_mode();
bool bf16_fast_active();  // Fast selected and supported by this CPU
const char* compute_name(Compute m);

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
