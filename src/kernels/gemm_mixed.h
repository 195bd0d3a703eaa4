// Mixed-precision GEMM for training, as OLMo-core trains with PyTorch autocast: the operands of every product
// are rounded to bf16, the products accumulate in f32, and everything the optimizer sees (master weights,
// gradients, moments, reductions, the loss) stays f32. Used by the linear layers and the lm_head of the model
// core when a weight matrix is marked Precision::BF16 (training with `precision: bf16`).
#pragma once
#include <cstdint>
#include <string>

namespace hyb {

enum class Precision { F32, BF16 };
const char* precision_name(Precision p);
Precision parse_precision(const std::string& s, const std::string& where);  // "f32" | "bf16", else fails naming `where`

// True when BF16 products really run in bf16 (AVX512-BF16 on this CPU, checked at run time). Elsewhere
// Precision::BF16 falls back to F32 products, and the commands that train say so.
bool bf16_products_available();

// C[M, N] = beta·C + op(A) · op(B), row-major f32 matrices (op = transpose when the flag is set; beta 0 or 1).
// Both operands are rounded to bf16 (round-to-nearest-even) while they are packed; f32 accumulation.
void gemm_bf16(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
               int64_t ldb, float beta, float* C, int64_t ldc);

// gemm_bf16 for Precision::BF16, SGEMM (alpha 1) for F32.
void gemm_prec(Precision p, bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace hyb
