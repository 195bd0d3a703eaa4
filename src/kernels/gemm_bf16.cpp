#include "kernels/gemm_bf16.h"

#include <algorithm>
#include <cstring>

#include "core/dtype.h"
#include "kernels/x86_simd.h"

namespace hyb::bf16k {

bool dpbf16_supported() {
#if HYB_X86
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  }();
  return ok;
#else
  return false;
#endif
}

#if HYB_X86

namespace {

using simd::as_bh;

// MR activation rows × one 48-wide packed panel; each k pair is one broadcast of the activations' two bf16.
// Row r's pair p lies at xb + r·rs + p·ps: rs = row stride, ps = 2 for plain rows; rs = 2, ps = 2·kRowBlock for
// rows packed pair-interleaved (pack_rows_t).
template <int MR>
HYB_DPBF16 void micro(const uint16_t* xb, int64_t rs, int64_t ps, const uint16_t* packed, int64_t pairs, int64_t n,
                      float* y, int64_t ldy, float beta) {
  __m512 acc[MR][3];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = acc[r][2] = _mm512_setzero_ps();
  for (int64_t p = 0; p < pairs; ++p) {
    const uint16_t* bp = packed + p * 2 * kPanel;
    const __m512bh b0 = as_bh(_mm512_loadu_si512(bp));
    const __m512bh b1 = as_bh(_mm512_loadu_si512(bp + 32));
    const __m512bh b2 = as_bh(_mm512_loadu_si512(bp + 64));
    for (int r = 0; r < MR; ++r) {
      int32_t pair;
      std::memcpy(&pair, xb + r * rs + p * ps, 4);
      const __m512bh a = as_bh(_mm512_set1_epi32(pair));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], b0, a);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], b1, a);
      acc[r][2] = _mm512_dpbf16_ps(acc[r][2], b2, a);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < 3; ++j) {
      const __mmask16 m = simd::mask16(n - 16 * j);
      if (!m) break;
      float* yp = y + r * ldy + 16 * j;
      __m512 v = acc[r][j];
      if (beta != 0.f) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, yp));
      _mm512_mask_storeu_ps(yp, m, v);
    }
}

// Every row-wise output is reduced from its 16-lane accumulator by one fixed tree: lanes i and i + 8, then i and
// i + 4, i and i + 2, then 0 and 1. sum_tree does it for one accumulator; sum_tree16 does the same additions for 16
// accumulators at once (transposing as it goes: ~3 instructions per stage pair instead of ~8 per accumulator), so a
// result does not depend on how many accumulators shared the reduction (batch invariance).
HYB_DPBF16 inline float sum_tree(__m512 a) {
  const __m256 t = _mm256_add_ps(_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
  const __m128 u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
  const __m128 v = _mm_add_ps(u, _mm_movehl_ps(u, u));
  return _mm_cvtss_f32(_mm_add_ss(v, _mm_movehdup_ps(v)));
}

// out lane k = sum_tree(v[k]) for k < 16, bit for bit.
HYB_DPBF16 inline __m512 sum_tree16(const __m512* v) {
  __m512 u[8], x[4], y[2];
  for (int m = 0; m < 8; ++m)  // lanes i and i + 8: [v_2m | v_2m+1], 8 sums each
    u[m] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * m], v[2 * m + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(v[2 * m], v[2 * m + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  for (int m = 0; m < 4; ++m)  // i and i + 4: one 128-bit lane per accumulator, v_4m .. v_4m+3
    x[m] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * m], u[2 * m + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(u[2 * m], u[2 * m + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  for (int m = 0; m < 2; ++m) {  // i and i + 2: 128-bit lane L holds v_8m+L and v_8m+4+L, two sums each
    const __m512d a = _mm512_castps_pd(x[2 * m]), b = _mm512_castps_pd(x[2 * m + 1]);
    y[m] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  // 0 and 1: lane 4L + j holds v_L+4j; the permutation puts v_k in lane k.
  const __m512 z = _mm512_add_ps(_mm512_shuffle_ps(y[0], y[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_ps(y[0], y[1], _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), z);
}

// R activation rows × NC weight rows, 32 bf16 per step (one 512-bit load each, no widening). Each (r, c) is one
// accumulator fed in k order and reduced by the fixed tree, whatever R and NC are. Several weight rows per tile
// so that loads and reductions are shared by more dot products: one weight row against 8 activation rows costs 9
// loads per 8 products and 8 separate reductions; four weight rows against 4 activation rows cost 8 loads per 16
// products, three against 8 cost 11 per 24; the accumulators are reduced 16 at a time (sum_tree16).
// `next` (or null): weight rows read later, prefetched into L1 line by line as this tile walks its own rows.
template <int R, int NC>
HYB_DPBF16 void row_tile(const uint16_t* xb, int64_t ldxb, const uint16_t* w, int64_t K, float* y, int64_t ldy,
                         float beta, const uint16_t* next) {
  constexpr int kAcc = R * NC;
  static_assert(kAcc <= 24);  // + NC weight vectors + 1 activation vector within the 32 registers
  __m512 acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    __m512bh wv[NC];
    for (int c = 0; c < NC; ++c) wv[c] = as_bh(_mm512_loadu_si512(w + c * K + k));
    if (next)
      for (int c = 0; c < NC; ++c) _mm_prefetch(reinterpret_cast<const char*>(next + c * K + k), _MM_HINT_T0);
    for (int r = 0; r < R; ++r) {
      __m512i xv = _mm512_loadu_si512(xb + r * ldxb + k);
      if constexpr (NC > 1) __asm__("" : "+v"(xv));  // one load per row, not one per weight row (see gemm.cpp)
      for (int c = 0; c < NC; ++c) acc[r * NC + c] = _mm512_dpbf16_ps(acc[r * NC + c], wv[c], as_bh(xv));
    }
  }
  if (k < K) {
    const __mmask32 m = __mmask32((uint64_t(1) << (K - k)) - 1);
    __m512bh wv[NC];
    for (int c = 0; c < NC; ++c) wv[c] = as_bh(_mm512_maskz_loadu_epi16(m, w + c * K + k));
    for (int r = 0; r < R; ++r) {
      const __m512bh xv = as_bh(_mm512_maskz_loadu_epi16(m, xb + r * ldxb + k));
      for (int c = 0; c < NC; ++c) acc[r * NC + c] = _mm512_dpbf16_ps(acc[r * NC + c], wv[c], xv);
    }
  }
  if constexpr (kAcc == 1) {
    *y = beta != 0.f ? *y + sum_tree(acc[0]) : sum_tree(acc[0]);
  } else {
    alignas(64) float s[32];
    for (int g = 0; g < kAcc; g += 16) {  // groups of 16, the last padded with zeros
      __m512 v[16];
      for (int i = 0; i < 16; ++i) v[i] = g + i < kAcc ? acc[g + i] : _mm512_setzero_ps();
      _mm512_store_ps(s + g, sum_tree16(v));
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < NC; ++c) {
        float* yp = y + r * ldy + c;
        *yp = beta != 0.f ? *yp + s[r * NC + c] : s[r * NC + c];
      }
  }
}

// The first min(R, kMaxR) activation rows against NC weight rows.
template <int NC, int kMaxR>
HYB_DPBF16 void row_block(int64_t R, const uint16_t* xb, int64_t ldxb, const uint16_t* w, int64_t K, float* y,
                          int64_t ldy, float beta, const uint16_t* next) {
  static_assert(kMaxR <= 8 && kMaxR * NC <= 24);
  switch (std::min<int64_t>(kMaxR, R)) {
    case 8: if constexpr (kMaxR >= 8) row_tile<8, NC>(xb, ldxb, w, K, y, ldy, beta, next); break;
    case 7: if constexpr (kMaxR >= 7) row_tile<7, NC>(xb, ldxb, w, K, y, ldy, beta, next); break;
    case 6: if constexpr (kMaxR >= 6) row_tile<6, NC>(xb, ldxb, w, K, y, ldy, beta, next); break;
    case 5: if constexpr (kMaxR >= 5) row_tile<5, NC>(xb, ldxb, w, K, y, ldy, beta, next); break;
    case 4: if constexpr (kMaxR >= 4) row_tile<4, NC>(xb, ldxb, w, K, y, ldy, beta, next); break;
    case 3: if constexpr (kMaxR >= 3) row_tile<3, NC>(xb, ldxb, w, K, y, ldy, beta, next); break;
    case 2: if constexpr (kMaxR >= 2) row_tile<2, NC>(xb, ldxb, w, K, y, ldy, beta, next); break;
    default: row_tile<1, NC>(xb, ldxb, w, K, y, ldy, beta, next); break;
  }
}

// Weight rows [n, n1) in tiles of NC against all M activation rows, kPass rows per pass; the first pass over a
// tile prefetches the next tile. Returns the first weight row not covered (fewer than NC left).
template <int NC, int kPass>
HYB_DPBF16 int64_t row_tiles(const uint16_t* xb, int64_t M, int64_t ldxb, const uint16_t* w, int64_t K, int64_t n,
                             int64_t n1, float* y, int64_t ldy, float beta) {
  for (; n + NC <= n1; n += NC) {
    const uint16_t* wr = w + n * K;
    const uint16_t* next = n + 2 * NC <= n1 ? wr + NC * K : nullptr;
    for (int64_t m0 = 0; m0 < M; m0 += kPass)
      row_block<NC, kPass>(M - m0, xb + m0 * ldxb, ldxb, wr, K, y + m0 * ldy + n, ldy, beta, m0 == 0 ? next : nullptr);
  }
  return n;
}

}  // namespace

HYB_DPBF16 void rowwise_rows(const uint16_t* xb, int64_t M, int64_t ldxb, const uint16_t* w, int64_t K, int64_t n0,
                             int64_t n1, float* y, int64_t ldy, float beta) {
  // A single activation row streams one weight row at a time. 2-4 rows take weight rows in fours (16
  // accumulators), 5 or more take them in threes against up to 8 activation rows per pass (24 accumulators), so
  // that each weight line feeds enough dot products and the loads keep up with them. With several rows each weight
  // line takes many cycles of dot products, the out-of-order window then holds too few lines in flight for DRAM's
  // latency and the hardware prefetcher alone falls behind: the first pass prefetches the next tile's rows as it
  // walks its own. Measured over the 100352 x 1024 lm_head, 2 threads, best of 11: M = 8, four weight rows x two
  // 4-row passes 6.5-7.0 ms, three weight rows x one 8-row pass 5.0-5.5 ms (M = 16: 11.2 -> 10.5 ms); M = 2-4:
  // four, five or six weight rows within 7% of each other; one weight row x 8 rows 12.1-12.9 ms.
  int64_t n = n0;
  if (M > 4) n = row_tiles<3, 8>(xb, M, ldxb, w, K, n, n1, y, ldy, beta);
  else if (M > 1) n = row_tiles<4, 4>(xb, M, ldxb, w, K, n, n1, y, ldy, beta);
  for (; n < n1; ++n)  // one activation row, or weight rows left over: one weight row at a time, the same sums
    for (int64_t m0 = 0; m0 < M; m0 += 8)
      row_block<1, 8>(M - m0, xb + m0 * ldxb, ldxb, w + n * K, K, y + m0 * ldy + n, ldy, beta, nullptr);
}

HYB_DPBF16 void to_bf16(const float* x, int64_t n, uint16_t* xb, int64_t n_pad) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    _mm512_storeu_si512(xb + i, reinterpret_cast<const __m512i&>(v));
  }
  for (; i < n; ++i) xb[i] = f32_to_bf16(x[i]);
  for (; i < n_pad; ++i) xb[i] = 0;
}

void pack_panel(const uint16_t* w, int64_t K, int64_t n0, int64_t n, uint16_t* packed) {
  const int64_t pairs = (K + 1) / 2;
  for (int64_t j = 0; j < kPanel; ++j) {
    if (j >= n) {
      for (int64_t p = 0; p < pairs; ++p) packed[p * 2 * kPanel + 2 * j] = packed[p * 2 * kPanel + 2 * j + 1] = 0;
      continue;
    }
    const uint16_t* src = w + (n0 + j) * K;
    for (int64_t p = 0; p < K / 2; ++p) std::memcpy(packed + p * 2 * kPanel + 2 * j, src + 2 * p, 4);
    if (K % 2) {
      packed[(pairs - 1) * 2 * kPanel + 2 * j] = src[K - 1];
      packed[(pairs - 1) * 2 * kPanel + 2 * j + 1] = 0;
    }
  }
}

void gemm_panel_rows(const uint16_t* a, int64_t M, int64_t block_stride, int64_t rs, int64_t ps,
                     const uint16_t* packed, int64_t K, int64_t n, float* y, int64_t ldy, float beta) {
  const int64_t pairs = (K + 1) / 2;
  constexpr int64_t MR = kRowBlock;
  for (int64_t m0 = 0; m0 < M; m0 += MR) {
    const uint16_t* ab = a + (m0 / MR) * block_stride;
    float* c = y + m0 * ldy;
    switch (std::min(MR, M - m0)) {
      case 8: micro<8>(ab, rs, ps, packed, pairs, n, c, ldy, beta); break;
      case 7: micro<7>(ab, rs, ps, packed, pairs, n, c, ldy, beta); break;
      case 6: micro<6>(ab, rs, ps, packed, pairs, n, c, ldy, beta); break;
      case 5: micro<5>(ab, rs, ps, packed, pairs, n, c, ldy, beta); break;
      case 4: micro<4>(ab, rs, ps, packed, pairs, n, c, ldy, beta); break;
      case 3: micro<3>(ab, rs, ps, packed, pairs, n, c, ldy, beta); break;
      case 2: micro<2>(ab, rs, ps, packed, pairs, n, c, ldy, beta); break;
      default: micro<1>(ab, rs, ps, packed, pairs, n, c, ldy, beta); break;
    }
  }
}

namespace {
// out[2j], out[2j+1] = bf16(r0[j]), bf16(r1[j]) for j < 8: two k of 8 columns, rounded and pair-interleaved.
HYB_DPBF16 inline void interleave8(const float* r0, const float* r1, uint16_t* out) {
  __m128bh ra = _mm256_cvtneps_pbh(_mm256_loadu_ps(r0)), rb = _mm256_cvtneps_pbh(_mm256_loadu_ps(r1));
  const __m128i a = reinterpret_cast<__m128i&>(ra), b = reinterpret_cast<__m128i&>(rb);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_unpacklo_epi16(a, b));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 8), _mm_unpackhi_epi16(a, b));
}

// Columns [c0, c0 + w) of storage rows k and k + 1 (k + 1 may be past the end: zeros) into pair-interleaved
// slots out[2j], out[2j + 1], zero-filling slots [w, width).
HYB_DPBF16 inline void interleave_cols(const float* src, int64_t ld, int64_t k, int64_t K, int64_t c0, int64_t w,
                                       int64_t width, uint16_t* out) {
  const float* r0 = src + k * ld + c0;
  const float* r1 = k + 1 < K ? r0 + ld : nullptr;
  int64_t j = 0;
  if (r1)
    for (; j + 8 <= w; j += 8) interleave8(r0 + j, r1 + j, out + 2 * j);
  for (; j < w; ++j) {
    out[2 * j] = f32_to_bf16(r0[j]);
    out[2 * j + 1] = r1 ? f32_to_bf16(r1[j]) : 0;
  }
  for (; j < width; ++j) out[2 * j] = out[2 * j + 1] = 0;
}
}  // namespace

HYB_DPBF16 void pack_rows_t(const float* a, int64_t lda, int64_t K, int64_t m0, int64_t mr, uint16_t* out) {
  for (int64_t p = 0; p < (K + 1) / 2; ++p) interleave_cols(a, lda, 2 * p, K, m0, mr, kRowBlock, out + p * 2 * kRowBlock);
}

HYB_DPBF16 void pack_panel_kn(const float* b, int64_t ldb, int64_t K, int64_t n0, int64_t n, uint16_t* packed) {
  for (int64_t p = 0; p < (K + 1) / 2; ++p) interleave_cols(b, ldb, 2 * p, K, n0, n, kPanel, packed + p * 2 * kPanel);
}

HYB_DPBF16 void pack_panel_nk(const float* b, int64_t ldb, int64_t K, int64_t n0, int64_t n, uint16_t* packed) {
  const int64_t pairs = (K + 1) / 2;
  // One weight row at a time: 32 values rounded in one instruction, then spread to their pair slots.
  alignas(64) uint16_t row[32];
  for (int64_t j = 0; j < kPanel; ++j) {
    if (j >= n) {
      for (int64_t p = 0; p < pairs; ++p) packed[p * 2 * kPanel + 2 * j] = packed[p * 2 * kPanel + 2 * j + 1] = 0;
      continue;
    }
    const float* src = b + (n0 + j) * ldb;
    int64_t k = 0;
    for (; k + 32 <= K; k += 32) {
      const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + k + 16), _mm512_loadu_ps(src + k));
      _mm512_store_si512(row, reinterpret_cast<const __m512i&>(v));
      for (int64_t q = 0; q < 16; ++q) std::memcpy(packed + (k / 2 + q) * 2 * kPanel + 2 * j, row + 2 * q, 4);
    }
    for (; k < K; k += 2) {
      packed[(k / 2) * 2 * kPanel + 2 * j] = f32_to_bf16(src[k]);
      packed[(k / 2) * 2 * kPanel + 2 * j + 1] = k + 1 < K ? f32_to_bf16(src[k + 1]) : 0;
    }
  }
}

#else  // not x86: never selected (dpbf16_supported() is false); defined so the library links.

void to_bf16(const float* x, int64_t n, uint16_t* xb, int64_t n_pad) {
  for (int64_t i = 0; i < n_pad; ++i) xb[i] = i < n ? f32_to_bf16(x[i]) : 0;
}
void pack_panel(const uint16_t*, int64_t, int64_t, int64_t, uint16_t*) {}
void gemm_panel_rows(const uint16_t*, int64_t, int64_t, int64_t, int64_t, const uint16_t*, int64_t, int64_t, float*,
                     int64_t, float) {}
void pack_rows_t(const float*, int64_t, int64_t, int64_t, int64_t, uint16_t*) {}
void pack_panel_kn(const float*, int64_t, int64_t, int64_t, int64_t, uint16_t*) {}
void pack_panel_nk(const float*, int64_t, int64_t, int64_t, int64_t, uint16_t*) {}
void rowwise_rows(const uint16_t*, int64_t, int64_t, const uint16_t*, int64_t, int64_t, int64_t, float*, int64_t,
                  float) {}

#endif

}  // namespace hyb::bf16k
