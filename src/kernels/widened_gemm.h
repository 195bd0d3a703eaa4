// GEMM against weights stored in a compact format (bf16, quantized blocks): each thread widens a block of weight
// rows into its own f32 tile and runs a single-threaded SGEMM on it (OpenBLAS stays serial inside an OpenMP region),
// so the f32 copy never exceeds one tile per thread.
#pragma once
#include <cstdint>

#include "kernels/gemm.h"

namespace hyb {

// Writes rows [n0, n0 + n) of W as f32 into out [n, W.cols].
using WidenRows = void (*)(const WeightMat& W, int64_t n0, int64_t n, float* out);

// y[m, n] (row stride ldy) = beta·y + Σ_k x[m, k] W[n, k].
void widened_gemm(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy, float beta,
                  WidenRows widen);

}  // namespace hyb
