// Row-major small-block GEMM / unit-lower triangular solve for the chunked GDN kernels, overloaded on float and
// double so the float64 reference instantiation runs the very same blocked algorithm. Called from inside our
// OpenMP regions, where the OpenMP build of OpenBLAS runs single-threaded.
#pragma once
#include <cblas.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hyb::gdn_detail {

inline CBLAS_TRANSPOSE tr(bool t) { return t ? CblasTrans : CblasNoTrans; }

// C[M,N] = alpha · op(A) · op(B) + beta · C
inline void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, tr(ta), tr(tb), int(M), int(N), int(K), alpha, A, int(lda), B, int(ldb), beta, C,
              int(ldc));
}
inline void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
                 const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, tr(ta), tr(tb), int(M), int(N), int(K), alpha, A, int(lda), B, int(ldb), beta, C,
              int(ldc));
}

// The on-and-below-diagonal part of C[n,n] = A[n,K] · B[n,K]ᵀ (entries above may be left stale): the top-left
// and bottom row blocks cover it with 3/4 of the full product's work.
template <class F>
void gemm_nt_lower(int64_t n, int64_t K, const F* A, int64_t lda, const F* B, int64_t ldb, F* C, int64_t ldc) {
  const int64_t h = n / 2;
  if (h > 0) gemm(false, true, h, h, K, F(1), A, lda, B, ldb, F(0), C, ldc);
  gemm(false, true, n - h, n, K, F(1), A + h * lda, lda, B, ldb, F(0), C + h * ldc, ldc);
}

// C[n,N] += L · B for L [n,n] lower triangular; entries above the diagonal must be zero inside the two diagonal
// blocks (h = n/2), the top-right block is never read.
template <class F>
void gemm_lower_nn(int64_t n, int64_t N, const F* L, int64_t ldl, const F* B, int64_t ldb, F* C, int64_t ldc) {
  const int64_t h = n / 2;
  if (h > 0) gemm(false, false, h, N, h, F(1), L, ldl, B, ldb, F(1), C, ldc);
  gemm(false, false, n - h, N, n, F(1), L + h * ldl, ldl, B, ldb, F(1), C + h * ldc, ldc);
}

// B[M,N] ← (I + L)^-1 B (ta = false) or (I + L)^-T B (ta = true), L the strictly lower part of A [M,M];
// the diagonal and upper part of A are never read.
inline void unit_lower_solve(bool ta, int64_t M, int64_t N, const float* A, int64_t lda, float* B, int64_t ldb) {
  cblas_strsm(CblasRowMajor, CblasLeft, CblasLower, tr(ta), CblasUnit, int(M), int(N), 1.f, A, int(lda), B,
              int(ldb));
}
inline void unit_lower_solve(bool ta, int64_t M, int64_t N, const double* A, int64_t lda, double* B, int64_t ldb) {
  cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, tr(ta), CblasUnit, int(M), int(N), 1.0, A, int(lda), B,
              int(ldb));
}

}  // namespace hyb::gdn_detail

namespace hyb::gdn_detail {

// Per-thread scratch that survives across calls: fresh vectors on every call made glibc hand the memory back
// and fault it in again, which cost more than the arithmetic of a short sequence. Contents are garbage on entry.
template <class F>
F* thread_scratch(size_t n) {
  thread_local std::vector<F> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

}  // namespace hyb::gdn_detail
