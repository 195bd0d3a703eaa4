// The BF16 variant of the GDN chunk's tile products (kernels/gdn_tile.h): operands rounded to bf16
// (round-to-nearest-even), AVX512-BF16 dot products (vdpbf16ps), f32 accumulation and f32 results. Each dot
// product instruction takes k in pairs, so A is stored as bf16 rows (k contiguous) and B as k-pair-interleaved
// 32-bit words. Compiled per function for that ISA; callers check bf16k::dpbf16_supported() first.
#pragma once
#include <cstdint>

#include "kernels/gdn_tile.h"

namespace hyb::gdn_detail {

// C[i, j] = beta·C[i, j] + alpha·s_i·Σ_k A[i, k]·B[k, j] for i < M, j < N (s = rowscale, null = 1; beta 0: C only
// written). A: bf16 rows, A[i, k] at a[i·lda + k], K rounded up to even with zeros in the padding column.
// B: pairs, B[2p, j] in the low and B[2p + 1, j] in the high half of bp[p·ldb + j]. `tri` as tile_gemm (LowerA
// and UpperA skip whole pairs, so the zeros they rely on extend to the pair's second column).
void tile_gemm_bf16(int64_t M, int64_t N, int64_t K, const uint16_t* a, int64_t lda, const uint32_t* bp, int64_t ldb,
                    float* C, int64_t ldc, float beta, float alpha = 1.f, const float* rowscale = nullptr,
                    Tri tri = Tri::None);

// dst[r·ldd + j] = bf16(s_r·src[r·lds + j]) for r < rows, j < cols (s = rowscale, null = 1); columns [cols, pad)
// zero.
void round_rows_padded_bf16(int64_t rows, int64_t cols, int64_t pad, const float* src, int64_t lds, uint16_t* dst,
                     int64_t ldd, const float* rowscale = nullptr);

// dst[p·ldd + j] = bf16(src[2p, j]) | bf16(src[2p + 1, j]) << 16 for 2p < rows, j < cols (src rows at stride lds);
// an odd last row pairs with zero.
void pack_pairs_bf16(int64_t rows, int64_t cols, const float* src, int64_t lds, uint32_t* dst, int64_t ldd);

// dst[j·ldd + r] = src[r·lds + j] for r < rows, j < cols: a transpose of bf16 values (T = uint16_t) or of their
// k pairs (T = uint32_t, src then read as 32-bit words through memcpy), in 16 × 16 blocks that stay in L1.
template <class T>
void transpose_words(int64_t rows, int64_t cols, const uint16_t* src, int64_t lds, T* dst, int64_t ldd);

}  // namespace hyb::gdn_detail
