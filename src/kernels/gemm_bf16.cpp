#include "kernels/gemm_bf16.h"

#include <algorithm>
#include <cstring>

#include "core/dtype.h"

#if defined(__x86_64__) || defined(__i386__)
#define HYB_X86 1
// GCC 12 flags its own AVX-512 intrinsic headers with -Wmaybe-uninitialized (false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#define HYB_DPBF16 __attribute__((target("avx512bf16,avx512f,avx512bw,avx512vl,avx512dq")))
#endif

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


HYB_DPBF16 inline __m512bh as_bh(__m512i v) { return reinterpret_cast<__m512bh&>(v); }

HYB_DPBF16 inline __mmask16 tail_mask16(int64_t left) {
  return left >= 16 ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1u);
}

// MR activation rows × one 48-wide packed panel; each k pair is one broadcast of the activations' two bf16.
template <int MR>
HYB_DPBF16 void micro(const uint16_t* xb, int64_t ldxb, const uint16_t* packed, int64_t pairs, int64_t n, float* y,
                      int64_t ldy, float beta) {
  __m512 acc[MR][3];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = acc[r][2] = _mm512_setzero_ps();
  for (int64_t p = 0; p < pairs; ++p) {
    const uint16_t* bp = packed + p * 2 * kPanel;
    const __m512bh b0 = as_bh(_mm512_loadu_si512(bp));
    const __m512bh b1 = as_bh(_mm512_loadu_si512(bp + 32));
    const __m512bh b2 = as_bh(_mm512_loadu_si512(bp + 64));
    for (int r = 0; r < MR; ++r) {
      int32_t pair;
      std::memcpy(&pair, xb + r * ldxb + 2 * p, 4);
      const __m512bh a = as_bh(_mm512_set1_epi32(pair));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], b0, a);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], b1, a);
      acc[r][2] = _mm512_dpbf16_ps(acc[r][2], b2, a);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < 3; ++j) {
      const __mmask16 m = tail_mask16(n - 16 * j);
      if (!m) break;
      float* yp = y + r * ldy + 16 * j;
      __m512 v = acc[r][j];
      if (beta != 0.f) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, yp));
      _mm512_mask_storeu_ps(yp, m, v);
    }
}

}  // namespace

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

void gemm_panel(const uint16_t* xb, int64_t M, int64_t ldxb, const uint16_t* packed, int64_t K, int64_t n, float* y,
                int64_t ldy, float beta) {
  const int64_t pairs = (K + 1) / 2;
  constexpr int64_t MR = 8;
  for (int64_t m0 = 0; m0 < M; m0 += MR) {
    const uint16_t* a = xb + m0 * ldxb;
    float* c = y + m0 * ldy;
    switch (std::min(MR, M - m0)) {
      case 8: micro<8>(a, ldxb, packed, pairs, n, c, ldy, beta); break;
      case 7: micro<7>(a, ldxb, packed, pairs, n, c, ldy, beta); break;
      case 6: micro<6>(a, ldxb, packed, pairs, n, c, ldy, beta); break;
      case 5: micro<5>(a, ldxb, packed, pairs, n, c, ldy, beta); break;
      case 4: micro<4>(a, ldxb, packed, pairs, n, c, ldy, beta); break;
      case 3: micro<3>(a, ldxb, packed, pairs, n, c, ldy, beta); break;
      case 2: micro<2>(a, ldxb, packed, pairs, n, c, ldy, beta); break;
      default: micro<1>(a, ldxb, packed, pairs, n, c, ldy, beta); break;
    }
  }
}

#else  // not x86: never selected (dpbf16_supported() is false); defined so the library links.

void to_bf16(const float* x, int64_t n, uint16_t* xb, int64_t n_pad) {
  for (int64_t i = 0; i < n_pad; ++i) xb[i] = i < n ? f32_to_bf16(x[i]) : 0;
}
void pack_panel(const uint16_t*, int64_t, int64_t, int64_t, uint16_t*) {}
void gemm_panel(const uint16_t*, int64_t, int64_t, const uint16_t*, int64_t, int64_t, float*, int64_t, float) {}

#endif

}  // namespace hyb::bf16k
