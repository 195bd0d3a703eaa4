// The small dense products of one GDN chunk (64 tokens × head dims of 128), written for data that sits in L1/L2:
// no packing and no library call per product, which at these sizes cost OpenBLAS a third of its time.
// One shape of kernel serves every product: A is read through strides, so Aᵀ needs no copy, and B is row-major.
#pragma once
#include <cstdint>

namespace hyb::gdn_detail {

// A(i, k) = p[i·rs + k·ks]: rs = ld, ks = 1 for a row-major A; rs = 1, ks = ld for Aᵀ.
template <class F>
struct StridedA {
  const F* p;
  int64_t rs, ks;
};

// Structure of a product that lets whole tiles of it be skipped (tiles are 8 rows × 32 columns).
enum class Tri {
  None,
  LowerA,  // A(i, k) = 0 for k > i: a row block stops at its last row's k. Entries above the diagonal of A
           // inside the 8-row diagonal blocks must be zero (they are read).
  UpperA,  // A(i, k) = 0 for k < i: a row block starts at its first row's k (Aᵀ of a lower-triangular matrix).
           // Entries below the diagonal inside the diagonal blocks must be zero.
  LowerC,  // only C(i, j) for j ≤ i is wanted; tiles entirely above the diagonal are not written.
};

// C[i, j] = beta·C[i, j] + alpha·s_i·Σ_k A(i, k)·B[k, j] for i < M, j < N; s = rowscale (null = 1); beta 0 means
// C is only written. B is [K, N] row-major with row stride ldb. f32 runs AVX-512 tiles where the build has them.
template <class F>
void tile_gemm(int64_t M, int64_t N, int64_t K, StridedA<F> A, const F* B, int64_t ldb, F* C, int64_t ldc, F beta,
               F alpha = F(1), const F* rowscale = nullptr, Tri tri = Tri::None);

}  // namespace hyb::gdn_detail
