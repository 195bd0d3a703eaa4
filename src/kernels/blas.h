// Float-type-generic GEMM on row-major matrices, so one backward kernel serves f32 training and the f64
// finite-difference tests. C[M,N] = alpha · op(A) · op(B) + beta · C, op = transpose when the flag is set.
#pragma once
#include <cblas.h>

#include <cstdint>

namespace hyb {

template <class F>
inline void gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, F alpha, const F* A, int64_t lda,
                 const F* B, int64_t ldb, F beta, F* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  const auto ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans;
  if constexpr (sizeof(F) == 4)
    cblas_sgemm(CblasRowMajor, ta, tb, int(M), int(N), int(K), alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
  else
    cblas_dgemm(CblasRowMajor, ta, tb, int(M), int(N), int(K), alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
}

}  // namespace hyb
