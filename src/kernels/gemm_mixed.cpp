#include "kernels/gemm_mixed.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "kernels/blas.h"
#include "kernels/gemm_bf16.h"

namespace hyb {

const char* precision_name(Precision p) { return p == Precision::F32 ? "f32" : "bf16"; }

Precision parse_precision(const std::string& s, const std::string& where) {
  if (s == "f32") return Precision::F32;
  if (s == "bf16") return Precision::BF16;
  fail(where, ": precision must be \"f32\" or \"bf16\" (got \"", s, "\")");
}

bool bf16_products_available() { return bf16k::dpbf16_supported(); }

void gemm_bf16(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
               int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || !bf16k::dpbf16_supported())
    return gemm<float>(transA, transB, M, N, K, 1.f, A, lda, B, ldb, beta, C, ldc);
  using bf16k::kPanel;
  using bf16k::kRowBlock;
  const int64_t pairs = (K + 1) / 2, Kp = 2 * pairs, blocks = (M + kRowBlock - 1) / kRowBlock;
  // op(A) rounded once, shared by all threads: plain rows when A is row-major in k, pair-interleaved row blocks
  // when it is transposed (then k runs down A's columns, and each pair of A rows gives one pair per output row).
  static thread_local std::vector<uint16_t> abuf;
  int64_t block_stride, rs, ps;
  if (!transA) {
    abuf.resize(size_t(M * Kp));
    uint16_t* out = abuf.data();  // a pointer: inside the region `abuf` would name each thread's own buffer
#pragma omp parallel for schedule(static) if (M * K >= (1 << 15))
    for (int64_t m = 0; m < M; ++m) bf16k::to_bf16(A + m * lda, K, out + m * Kp, Kp);
    block_stride = kRowBlock * Kp, rs = Kp, ps = 2;
  } else {
    block_stride = pairs * 2 * kRowBlock, rs = 2, ps = 2 * kRowBlock;
    abuf.resize(size_t(blocks * block_stride));
    uint16_t* out = abuf.data();
#pragma omp parallel for schedule(static) if (M * K >= (1 << 15))
    for (int64_t b = 0; b < blocks; ++b)
      bf16k::pack_rows_t(A, lda, K, b * kRowBlock, std::min(kRowBlock, M - b * kRowBlock), out + b * block_stride);
  }
  const uint16_t* a = abuf.data();
  // op(B) packed panel by panel inside the loop, so a panel is still in cache when its products run.
  const int64_t panels = (N + kPanel - 1) / kPanel;
#pragma omp parallel if (panels > 1 && M * N * K >= (1 << 18))
  {
    static thread_local std::vector<uint16_t> packed;
    if (packed.size() < size_t(bf16k::packed_elems(K))) packed.resize(size_t(bf16k::packed_elems(K)));
#pragma omp for schedule(dynamic, 1)
    for (int64_t p = 0; p < panels; ++p) {
      const int64_t n0 = p * kPanel, n = std::min(kPanel, N - n0);
      if (transB) bf16k::pack_panel_nk(B, ldb, K, n0, n, packed.data());
      else bf16k::pack_panel_kn(B, ldb, K, n0, n, packed.data());
      bf16k::gemm_panel_rows(a, M, block_stride, rs, ps, packed.data(), K, n, C + n0, ldc, beta);
    }
  }
}

void gemm_prec(Precision p, bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (p == Precision::BF16) gemm_bf16(transA, transB, M, N, K, A, lda, B, ldb, beta, C, ldc);
  else gemm<float>(transA, transB, M, N, K, 1.f, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace hyb
