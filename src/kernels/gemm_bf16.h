// BF16 × BF16 → F32 GEMM built on AVX512-BF16 dot products (vdpbf16ps), for prefill-sized M. It lives in their own translation
// unit, compiled per function for that ISA, so a portable build still uses it on CPUs that have it; callers
// check dpbf16_supported() first. Activations are rounded to bf16 (round-to-nearest-even) before the product.
#pragma once
#include <cstdint>

namespace hyb::bf16k {

// True when the CPU runs avx512bf16 + avx512f/bw/vl (checked once).
bool dpbf16_supported();

// xb[i] = bf16(x[i]) for i < n, zeros up to n_pad (n_pad >= n).
void to_bf16(const float* x, int64_t n, uint16_t* xb, int64_t n_pad);

// Panel width of the GEMM micro-kernel and the packed-panel size it needs.
constexpr int64_t kPanel = 48;
inline int64_t packed_elems(int64_t K) { return kPanel * ((K + 1) / 2) * 2; }

// Packs weight rows [n0, n0 + n) (n <= kPanel) of w [*, K] into k-pair-interleaved form, zero-padded.
void pack_panel(const uint16_t* w, int64_t K, int64_t n0, int64_t n, uint16_t* packed);

// y[m, n0 + j] = beta·y + Σ_k a[m, k] W[n0 + j, k] for all m < M and j < n, from a packed panel, over rows held
// in any layout: rows are taken in blocks of kRowBlock, block b at a + b·block_stride,
// and row r of a block has its k pair p at r·rs + p·ps (plain rows: block_stride = kRowBlock·ld, rs = ld, ps = 2).
constexpr int64_t kRowBlock = 8;
void gemm_panel_rows(const uint16_t* a, int64_t M, int64_t block_stride, int64_t rs, int64_t ps,
                     const uint16_t* packed, int64_t K, int64_t n, float* y, int64_t ldy, float beta);

// Operand packing from f32 with rounding to bf16 (round-to-nearest-even), for GEMMs on F32 data (mixed-precision
// training, kernels/gemm_mixed.h). Zero-padded to whole pairs and blocks.
// Rows [m0, m0 + mr) (mr <= kRowBlock) of op(A) = Aᵀ, A stored [K, lda]: out[p][r][2] (rs = 2, ps = 2·kRowBlock).
void pack_rows_t(const float* a, int64_t lda, int64_t K, int64_t m0, int64_t mr, uint16_t* out);
// Panel columns [n0, n0 + n) of op(B) = B stored [K, ldb] (k-major: a weight used as dy · W).
void pack_panel_kn(const float* b, int64_t ldb, int64_t K, int64_t n0, int64_t n, uint16_t* packed);
// Panel columns [n0, n0 + n) of op(B) = Bᵀ, B stored [N, ldb] (rows of an nn.Linear weight: x · Wᵀ).
void pack_panel_nk(const float* b, int64_t ldb, int64_t K, int64_t n0, int64_t n, uint16_t* packed);

// Row-wise form (decode rows, short segments) in fast mode: y[m, n] = beta·y + Σ_k xb[m, k] w[n, k] for weight
// rows [n0, n1) of w [*, K] (plain row-major bf16, no packing) and M activation rows already rounded to bf16
// (row stride ldxb). Each output is one accumulator fed in k order and reduced the same way whatever M is, so a
// row's result does not depend on the rows that share the call (batch invariance, as the exact row-wise kernel).
void rowwise_rows(const uint16_t* xb, int64_t M, int64_t ldxb, const uint16_t* w, int64_t K, int64_t n0, int64_t n1,
                  float* y, int64_t ldy, float beta);

}  // namespace hyb::bf16k
