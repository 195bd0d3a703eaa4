#include "kernels/gemm_mixed.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
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

Bf16Rows round_rows_bf16(bool transA, const float* A, int64_t lda, int64_t M, int64_t K) {
  using bf16k::kRowBlock;
  const int64_t pairs = (K + 1) / 2, Kp = 2 * pairs, blocks = (M + kRowBlock - 1) / kRowBlock;
  static thread_local std::vector<uint16_t> buf;
  // Plain rows when A is row-major in k; pair-interleaved row blocks when it is transposed (then k runs down A's
  // columns, and each pair of A rows gives one pair per output row).
  const Bf16Rows rows = transA ? Bf16Rows{nullptr, pairs * 2 * kRowBlock, 2, 2 * kRowBlock}
                               : Bf16Rows{nullptr, kRowBlock * Kp, Kp, 2};
  if (buf.size() < size_t(blocks * rows.block_stride)) buf.resize(size_t(blocks * rows.block_stride));
  uint16_t* out = buf.data();  // a pointer: inside the region `buf` would name each thread's own buffer
  if (!transA) {
    parallel_for(M, M * K >= (1 << 15), [&](int64_t m) { bf16k::to_bf16(A + m * lda, K, out + m * Kp, Kp); });
  } else {
    parallel_for(blocks, M * K >= (1 << 15), [&](int64_t b) {
      bf16k::pack_rows_t(A, lda, K, b * kRowBlock, std::min(kRowBlock, M - b * kRowBlock), out + b * rows.block_stride);
    });
  }
  return {out, rows.block_stride, rows.rs, rows.ps};
}

void panel_gemm_bf16(const Bf16Rows& a, int64_t M, int64_t N, int64_t K, PanelPacker pack, const void* b, int64_t ldb,
                     float* C, int64_t ldc, float beta) {
  using bf16k::kPanel;
  const int64_t panels = (N + kPanel - 1) / kPanel;
#pragma omp parallel if (panels > 1 && M * N * K >= (1 << 18))
  {
    static thread_local std::vector<uint16_t> packed;
    if (packed.size() < size_t(bf16k::packed_elems(K))) packed.resize(size_t(bf16k::packed_elems(K)));
#pragma omp for schedule(dynamic, 1)
    for (int64_t p = 0; p < panels; ++p) {
      const int64_t n0 = p * kPanel, n = std::min(kPanel, N - n0);
      pack(b, ldb, K, n0, n, packed.data());
      bf16k::gemm_panel_rows(a.data, M, a.block_stride, a.rs, a.ps, packed.data(), K, n, C + n0, ldc, beta);
    }
  }
}

void gemm_bf16(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
               int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || !bf16k::dpbf16_supported())
    return gemm<float>(transA, transB, M, N, K, 1.f, A, lda, B, ldb, beta, C, ldc);
  const PanelPacker pack = transB ? [](const void* b, int64_t ld, int64_t k, int64_t n0, int64_t n, uint16_t* out) {
    bf16k::pack_panel_nk(static_cast<const float*>(b), ld, k, n0, n, out);
  } : [](const void* b, int64_t ld, int64_t k, int64_t n0, int64_t n, uint16_t* out) {
    bf16k::pack_panel_kn(static_cast<const float*>(b), ld, k, n0, n, out);
  };
  panel_gemm_bf16(round_rows_bf16(transA, A, lda, M, K), M, N, K, pack, B, ldb, C, ldc, beta);
}

void gemm_prec(Precision p, bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (p == Precision::BF16) gemm_bf16(transA, transB, M, N, K, A, lda, B, ldb, beta, C, ldc);
  else gemm<float>(transA, transB, M, N, K, 1.f, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace hyb
