#include "kernels/gdn_tile.h"

#include "kernels/x86_simd.h"

#include <algorithm>
#include <type_traits>

namespace hyb::gdn_detail {

namespace {

constexpr int64_t kRows = 8, kCols = 32;

// One tile of R ≤ 8 rows × w ≤ 32 columns, any float type: each output one accumulator fed in k order.
template <class F, int R>
void tile_any(int64_t K, StridedA<F> A, const F* B, int64_t ldb, int64_t w, F* C, int64_t ldc, F beta, F alpha,
              const F* rowscale) {
  for (int r = 0; r < R; ++r) {
    F acc[kCols] = {};
    const F* a = A.p + r * A.rs;
    for (int64_t k = 0; k < K; ++k) {
      const F x = a[k * A.ks];
      const F* b = B + k * ldb;
      for (int64_t j = 0; j < w; ++j) acc[j] += x * b[j];
    }
    const F s = alpha * (rowscale ? rowscale[r] : F(1));
    F* c = C + r * ldc;
    for (int64_t j = 0; j < w; ++j) c[j] = beta != F(0) ? beta * c[j] + s * acc[j] : s * acc[j];
  }
}

#if defined(__AVX512F__)
// 8 rows × 32 columns: per k two row loads of B and one broadcast of A per row feed 16 FMAs, so the FMA units
// (not loads) bound the loop while B's 32-column strip stays in L1 across the row blocks.
template <int R>
void tile_f32(int64_t K, StridedA<float> A, const float* B, int64_t ldb, int64_t w, float* C, int64_t ldc, float beta,
              float alpha, const float* rowscale) {
  __m512 c0[R], c1[R];
  for (int r = 0; r < R; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  // One masked loop for full and partial strips: a load under an all-ones mask costs what a plain load does.
  const __mmask16 m0 = simd::mask16(w), m1 = simd::mask16(w - 16);
  const int64_t rs = A.rs, ks = A.ks;
  const float* a = A.p;
  for (int64_t k = 0; k < K; ++k, a += ks, B += ldb) {
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, B), b1 = _mm512_maskz_loadu_ps(m1, B + 16);
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(a[r * rs]);
      c0[r] = _mm512_fmadd_ps(x, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(x, b1, c1[r]);
    }
  }
  simd::store_tile<R>(c0, c1, w, C, ldc, beta, alpha, rowscale);
}
#endif

template <class F, int R>
void tile(int64_t K, StridedA<F> A, const F* B, int64_t ldb, int64_t w, F* C, int64_t ldc, F beta, F alpha,
          const F* rowscale) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<F, float>) return tile_f32<R>(K, A, B, ldb, w, C, ldc, beta, alpha, rowscale);
#endif
  tile_any<F, R>(K, A, B, ldb, w, C, ldc, beta, alpha, rowscale);
}

}  // namespace

template <class F>
void tile_gemm(int64_t M, int64_t N, int64_t K, StridedA<F> A, const F* B, int64_t ldb, F* C, int64_t ldc, F beta,
               F alpha, const F* rowscale, Tri tri) {
  // Column strips outside, row blocks inside: a strip of B (K × 32) is reused from L1 by every row block.
  for (int64_t j0 = 0; j0 < N; j0 += kCols) {
    const int64_t w = std::min(kCols, N - j0);
    for (int64_t i0 = 0; i0 < M; i0 += kRows) {
      const int64_t r = std::min(kRows, M - i0);
      if (tri == Tri::LowerC && j0 > i0 + r - 1) continue;
      const int64_t k0 = tri == Tri::UpperA ? std::min(K, i0) : 0;
      const int64_t kk = (tri == Tri::LowerA ? std::min(K, i0 + r) : K) - k0;
      const StridedA<F> a{A.p + i0 * A.rs + k0 * A.ks, A.rs, A.ks};
      const F* rsc = rowscale ? rowscale + i0 : nullptr;
      F* c = C + i0 * ldc + j0;
      const F* b = B + k0 * ldb + j0;
      switch (r) {
        case 8: tile<F, 8>(kk, a, b, ldb, w, c, ldc, beta, alpha, rsc); break;
        case 7: tile<F, 7>(kk, a, b, ldb, w, c, ldc, beta, alpha, rsc); break;
        case 6: tile<F, 6>(kk, a, b, ldb, w, c, ldc, beta, alpha, rsc); break;
        case 5: tile<F, 5>(kk, a, b, ldb, w, c, ldc, beta, alpha, rsc); break;
        case 4: tile<F, 4>(kk, a, b, ldb, w, c, ldc, beta, alpha, rsc); break;
        case 3: tile<F, 3>(kk, a, b, ldb, w, c, ldc, beta, alpha, rsc); break;
        case 2: tile<F, 2>(kk, a, b, ldb, w, c, ldc, beta, alpha, rsc); break;
        default: tile<F, 1>(kk, a, b, ldb, w, c, ldc, beta, alpha, rsc); break;
      }
    }
  }
}

template void tile_gemm<float>(int64_t, int64_t, int64_t, StridedA<float>, const float*, int64_t, float*, int64_t,
                               float, float, const float*, Tri);
template void tile_gemm<double>(int64_t, int64_t, int64_t, StridedA<double>, const double*, int64_t, double*,
                                int64_t, double, double, const double*, Tri);

}  // namespace hyb::gdn_detail
