// What the hand-written AVX-512 kernels share: the intrinsics, the per-function target for AVX512-BF16 code (so a
// portable build still carries it, behind a run-time check), and a tail mask.
#pragma once
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#define HYB_X86 1
// GCC 12 flags its own AVX-512 intrinsic headers with -Wmaybe-uninitialized (false positive); clang has no such
// warning group and would warn about the pragma instead.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#define HYB_AVX512F __attribute__((target("avx512f")))
#define HYB_DPBF16 __attribute__((target("avx512bf16,avx512f,avx512bw,avx512vl,avx512dq")))

namespace hyb::simd {

// Lanes [0, left) of 16 (none for left ≤ 0, all for left ≥ 16).
// bf16 pairs as the dot-product instructions take them: a vector cast, not a cast through memory (that kept a
// kernel's accumulators on the stack).
HYB_DPBF16 inline __m512bh as_bh(__m512i v) { return (__m512bh)v; }

HYB_AVX512F inline __mmask16 mask16(int64_t left) {
  return left >= 16 ? __mmask16(0xFFFF) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1u);
}

// The end of an R-row × 32-column tile of f32 accumulators (c0: columns 0-15, c1: 16-31, w valid):
// C[r, :] = beta·C[r, :] + alpha·s_r·acc[r, :], s = rowscale (null = 1), beta 0 = C only written.
// Unrolled, so that no loop indexes the accumulators at run time: that makes GCC keep them in memory and store
// every one on each k step of the caller's loop.
template <int R>
HYB_AVX512F inline void store_tile(const __m512* c0, const __m512* c1, int64_t w, float* C, int64_t ldc, float beta,
                                   float alpha, const float* rowscale) {
  const __mmask16 m0 = mask16(w), m1 = mask16(w - 16);
  const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const __m512 s = _mm512_set1_ps(alpha * (rowscale ? rowscale[r] : 1.f));
    float* c = C + r * ldc;
    __m512 v0 = _mm512_mul_ps(s, c0[r]), v1 = _mm512_mul_ps(s, c1[r]);
    if (beta != 0.f) {
      v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, c), v0);
      v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, c + 16), v1);
    }
    _mm512_mask_storeu_ps(c, m0, v0);
    _mm512_mask_storeu_ps(c + 16, m1, v1);
  }
}

}  // namespace hyb::simd
#endif
