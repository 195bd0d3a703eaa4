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
// Parallel inside (OpenMP). Its packing buffers are thread-local and reused: call it from outside an OpenMP region
// (inside one, nested regions run serially and each thread would allocate its own full-size buffers).
void gemm_bf16(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
               int64_t ldb, float beta, float* C, int64_t ldc);

// gemm_bf16 for Precision::BF16, SGEMM (alpha 1) for F32.
void gemm_prec(Precision p, bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// The two halves of gemm_bf16, shared with the fast-mode prefill GEMM on BF16 weights (kernels/gemm.cpp).
// Rows of op(A) rounded to bf16 in the layout the panel micro-kernel reads (kernels/gemm_bf16.h,
// gemm_panel_rows). The storage is thread-local: valid until the next call on the same thread.
struct Bf16Rows {
  const uint16_t* data;
  int64_t block_stride, rs, ps;
};
Bf16Rows round_rows_bf16(bool transA, const float* A, int64_t lda, int64_t M, int64_t K);
// Packs panel columns [n0, n0 + n) of an operand B (leading dimension ldb) into the micro-kernel's layout.
using PanelPacker = void (*)(const void* b, int64_t ldb, int64_t K, int64_t n0, int64_t n, uint16_t* packed);
// C[M, N] = beta·C + rows · op(B), one panel of op(B) at a time, packed by the thread that then uses it (so it
// is still in cache for its products).
void panel_gemm_bf16(const Bf16Rows& a, int64_t M, int64_t N, int64_t K, PanelPacker pack, const void* b, int64_t ldb,
                     float* C, int64_t ldc, float beta);

}  // namespace hyb
