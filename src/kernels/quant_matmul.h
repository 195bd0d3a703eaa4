// y = x·Wᵀ for Q8_0 / Q4_0 weights (memory format of kernels/quant_formats.h).
//
// Decode and short prompts (M <= 32 rows): each activation row is quantized once per call to int8 with one f32
// scale per 32-block (symmetric, like the weights), then every 16-row weight group is dotted against it in int32
// with vpdpbusd and scaled per block in f32. Reading 1.06 (Q8_0) or 0.56 (Q4_0) bytes per weight instead of 2 (BF16) is the whole
// point: decode is bound by weight bandwidth, and the integer dot keeps the unpacking cost below it.
// Prompts (M > 32) in Fast compute take the same path, in tiles of 8 activation rows per weight group (the int8
// GEMM); in Exact compute each thread widens a tile of weight rows to f32 and runs SGEMM on it (activations stay
// f32, so logits and eval see weight rounding only). Every row is computed the same way whatever the batch holds.
//
// The VNNI kernel is chosen at run time (AVX-512 F/BW/VNNI); the scalar fallback does the same integer sums and
// the same f32 operations in the same order, so both give bit-identical results.
#pragma once
#include <cstdint>

#include "kernels/gemm.h"

namespace hyb {

void quant_linear(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy, float beta);

// The int8-activation path for any M (what quant_linear uses for M <= 32, and for any M in Fast compute).
void quant_matvec(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy, float beta);

// quant_matvec for several matrices of one input (decode's projection groups; all quantized, equal cols): the
// activations are quantized once and all matrices share one parallel region.
void quant_matvec_multi(const float* x, int64_t M, int64_t ldx, const LinearOut* outs, int n_outs, float beta = 0.f);

enum class QuantKernel { Auto, Scalar, Vnni };
bool quant_vnni_supported();
// Forces a kernel (tests, benches). Forcing Vnni where unsupported fails.
void set_quant_kernel(QuantKernel k);
const char* quant_kernel_name();  // the kernel that runs now: "avx512-vnni" or "scalar"

}  // namespace hyb
