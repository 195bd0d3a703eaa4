#include "kernels/gdn_tile_bf16.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "kernels/x86_simd.h"

namespace hyb::gdn_detail {

#if HYB_X86

using simd::as_bh;
using simd::mask16;

namespace {

constexpr int64_t kRows = 8, kCols = 32;

// R ≤ 8 rows × w ≤ 32 columns over `pairs` k pairs: per pair two loads of B and one broadcast of A's pair per row
// feed 16 dot-product instructions (each 2 multiply-adds per lane, twice an FMA's work).
template <int R>
HYB_DPBF16 void tile(int64_t pairs, const uint16_t* a, int64_t lda, const uint32_t* bp, int64_t ldb, int64_t w,
                     float* C, int64_t ldc, float beta, float alpha, const float* rowscale) {
  __m512 c0[R], c1[R];
  for (int r = 0; r < R; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  const __mmask16 m0 = mask16(w), m1 = mask16(w - 16);
  for (int64_t p = 0; p < pairs; ++p, bp += ldb) {
    const __m512bh b0 = as_bh(_mm512_maskz_loadu_epi32(m0, bp));
    const __m512bh b1 = as_bh(_mm512_maskz_loadu_epi32(m1, bp + 16));
    for (int r = 0; r < R; ++r) {
      int32_t pair;
      std::memcpy(&pair, a + r * lda + 2 * p, 4);
      const __m512bh x = as_bh(_mm512_set1_epi32(pair));
      c0[r] = _mm512_dpbf16_ps(c0[r], x, b0);
      c1[r] = _mm512_dpbf16_ps(c1[r], x, b1);
    }
  }
  simd::store_tile<R>(c0, c1, w, C, ldc, beta, alpha, rowscale);
}

}  // namespace

HYB_DPBF16 void tile_gemm_bf16(int64_t M, int64_t N, int64_t K, const uint16_t* a, int64_t lda, const uint32_t* bp,
                               int64_t ldb, float* C, int64_t ldc, float beta, float alpha, const float* rowscale,
                               Tri tri) {
  const int64_t KP = (K + 1) / 2;
  // Column strips outside, row blocks inside, as tile_gemm: a strip of B stays in L1 across the row blocks.
  for (int64_t j0 = 0; j0 < N; j0 += kCols) {
    const int64_t w = std::min(kCols, N - j0);
    for (int64_t i0 = 0; i0 < M; i0 += kRows) {
      const int64_t r = std::min(kRows, M - i0);
      if (tri == Tri::LowerC && j0 > i0 + r - 1) continue;
      const int64_t p0 = tri == Tri::UpperA ? std::min(KP, i0 / 2) : 0;  // i0 is a multiple of 8
      const int64_t pe = tri == Tri::LowerA ? std::min(KP, (i0 + r + 1) / 2) : KP;
      const uint16_t* ai = a + i0 * lda + 2 * p0;
      const uint32_t* b = bp + p0 * ldb + j0;
      const float* rsc = rowscale ? rowscale + i0 : nullptr;
      float* c = C + i0 * ldc + j0;
      const int64_t np = pe - p0;
      switch (r) {
        case 8: tile<8>(np, ai, lda, b, ldb, w, c, ldc, beta, alpha, rsc); break;
        case 7: tile<7>(np, ai, lda, b, ldb, w, c, ldc, beta, alpha, rsc); break;
        case 6: tile<6>(np, ai, lda, b, ldb, w, c, ldc, beta, alpha, rsc); break;
        case 5: tile<5>(np, ai, lda, b, ldb, w, c, ldc, beta, alpha, rsc); break;
        case 4: tile<4>(np, ai, lda, b, ldb, w, c, ldc, beta, alpha, rsc); break;
        case 3: tile<3>(np, ai, lda, b, ldb, w, c, ldc, beta, alpha, rsc); break;
        case 2: tile<2>(np, ai, lda, b, ldb, w, c, ldc, beta, alpha, rsc); break;
        default: tile<1>(np, ai, lda, b, ldb, w, c, ldc, beta, alpha, rsc); break;
      }
    }
  }
}

HYB_DPBF16 void round_rows_padded_bf16(int64_t rows, int64_t cols, int64_t pad, const float* src, int64_t lds, uint16_t* dst,
                                int64_t ldd, const float* rowscale) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = src + r * lds;
    uint16_t* d = dst + r * ldd;
    const __m512 sc = _mm512_set1_ps(rowscale ? rowscale[r] : 1.f);
    for (int64_t j = 0; j < cols; j += 16) {
      const __mmask16 m = mask16(cols - j);
      const __m256bh v = _mm512_cvtneps_pbh(_mm512_mul_ps(sc, _mm512_maskz_loadu_ps(m, s + j)));
      _mm256_mask_storeu_epi16(d + j, m, reinterpret_cast<const __m256i&>(v));
    }
    for (int64_t j = cols; j < pad; ++j) d[j] = 0;
  }
}

HYB_DPBF16 void pack_pairs_bf16(int64_t rows, int64_t cols, const float* src, int64_t lds, uint32_t* dst,
                                int64_t ldd) {
  for (int64_t p = 0; 2 * p < rows; ++p) {
    const float* s0 = src + 2 * p * lds;
    const bool second = 2 * p + 1 < rows;
    uint32_t* d = dst + p * ldd;
    for (int64_t j = 0; j < cols; j += 16) {
      const __mmask16 m = mask16(cols - j);
      const __m256bh lo = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, s0 + j));
      const __m256bh hi = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(second ? m : __mmask16(0), s0 + lds + j));
      const __m512i w = _mm512_or_si512(_mm512_cvtepu16_epi32(reinterpret_cast<const __m256i&>(lo)),
                                        _mm512_slli_epi32(_mm512_cvtepu16_epi32(reinterpret_cast<const __m256i&>(hi)), 16));
      _mm512_mask_storeu_epi32(d + j, m, w);
    }
  }
}

#else  // not x86: never selected (dpbf16_supported() is false); defined so the library links, and loud if reached.

void tile_gemm_bf16(int64_t, int64_t, int64_t, const uint16_t*, int64_t, const uint32_t*, int64_t, float*, int64_t,
                    float, float, const float*, Tri) {
  fail("tile_gemm_bf16: AVX512-BF16 kernels are not built for this CPU architecture");
}
void round_rows_padded_bf16(int64_t, int64_t, int64_t, const float*, int64_t, uint16_t*, int64_t, const float*) {
  fail("round_rows_padded_bf16: AVX512-BF16 kernels are not built for this CPU architecture");
}
void pack_pairs_bf16(int64_t, int64_t, const float*, int64_t, uint32_t*, int64_t) {
  fail("pack_pairs_bf16: AVX512-BF16 kernels are not built for this CPU architecture");
}

#endif

template <class T>
void transpose_words(int64_t rows, int64_t cols, const uint16_t* src, int64_t lds, T* dst, int64_t ldd) {
  constexpr int64_t kB = 16, kStep = sizeof(T) / sizeof(uint16_t);  // bf16 values per word
  for (int64_t i0 = 0; i0 < rows; i0 += kB)
    for (int64_t j0 = 0; j0 < cols; j0 += kB)
      for (int64_t j = j0; j < std::min(cols, j0 + kB); ++j)
        for (int64_t i = i0; i < std::min(rows, i0 + kB); ++i) {
          T w;
          std::memcpy(&w, src + i * lds + j * kStep, sizeof(T));
          dst[j * ldd + i] = w;
        }
}

template void transpose_words<uint16_t>(int64_t, int64_t, const uint16_t*, int64_t, uint16_t*, int64_t);
template void transpose_words<uint32_t>(int64_t, int64_t, const uint16_t*, int64_t, uint32_t*, int64_t);

}  // namespace hyb::gdn_detail
