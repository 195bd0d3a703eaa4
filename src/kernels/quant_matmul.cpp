#include "kernels/quant_matmul.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
// GCC 12 flags its own AVX-512 intrinsic headers with -Wmaybe-uninitialized (false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#define HYB_QUANT_X86 1
#endif

#include "core/error.h"
#include "core/parallel.h"
#include "kernels/quant_formats.h"
#include "kernels/widened_gemm.h"
#include "kernels/work_steal.h"

namespace hyb {

namespace {

// Activation rows per pass over a weight group: 8 rows keep 8 independent vpdpbusd chains in flight (the
// instruction's latency is ~5 cycles) and amortise each block's weight loads, nibble unpacking and scale
// conversion over 8 rows; 8 weight + 8 int32 + 8 f32 accumulator registers fit the 32 zmm registers.
constexpr int64_t kTileRows = 8;

// Activation rows quantized per 32-block: q (padded to whole blocks with zeros), scale d, and the int32 start
// value -offset·Σq that cancels the unsigned offset of the stored weights.
struct QuantActs {
  std::vector<int8_t> q;
  std::vector<float> d;
  std::vector<int32_t> corr;
  int64_t nb = 0;
};

bool detect_vnni() {
#if HYB_QUANT_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}

bool g_use_vnni = detect_vnni();

// One block of n <= 32 activations -> q (zero-padded to 32), its scale d and Σq.
inline void quantize_block_scalar(const float* xb, int64_t n, int8_t* qb, float* d, int32_t* sum) {
  float amax = 0.f;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(xb[i]));
  const float inv = amax > 0.f ? 127.f / amax : 0.f;
  int32_t s = 0;
  for (int64_t i = 0; i < n; ++i) {
    qb[i] = int8_t(std::nearbyint(xb[i] * inv));
    s += qb[i];
  }
  *d = amax / 127.f;
  *sum = s;
}

#if HYB_QUANT_X86
// The same arithmetic 32 lanes at a time (a full block): |x| max, x·(127/amax) rounded to nearest-even (the
// default rounding mode, as nearbyint), narrowed to int8 (in range by construction). Bit-identical to the scalar.
__attribute__((target("avx512f,avx512bw"))) void quantize_block_avx512(const float* xb, int8_t* qb, float* d,
                                                                       int32_t* sum) {
  const __m512 x0 = _mm512_loadu_ps(xb), x1 = _mm512_loadu_ps(xb + 16);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
  const __m512 inv = _mm512_set1_ps(amax > 0.f ? 127.f / amax : 0.f);
  const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, inv)), q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, inv));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qb), _mm512_cvtepi32_epi8(q0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qb + 16), _mm512_cvtepi32_epi8(q1));
  *d = amax / 127.f;
  *sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
}
#endif

void quantize_acts(const float* x, int64_t M, int64_t ldx, int64_t K, int offset, QuantActs& a) {
  a.nb = quant_blocks(K);
  const int64_t nb = a.nb;
  a.q.assign(size_t(M * nb * kQuantBlock), 0);
  a.d.resize(size_t(M * nb));
  a.corr.resize(size_t(M * nb));
  const bool avx512 = g_use_vnni;  // the scalar kernel (forced or fallback) quantizes with scalar code too
  // Prompt-sized inputs are quantized by the whole team (each row independently: same bits).
  parallel_for(M, M * K >= (1 << 16), [&](int64_t m) {
    for (int64_t b = 0; b < nb; ++b) {
      const float* xb = x + m * ldx + b * kQuantBlock;
      const int64_t n = std::min(kQuantBlock, K - b * kQuantBlock);
      int8_t* qb = a.q.data() + (m * nb + b) * kQuantBlock;
      int32_t s = 0;
      float* d = &a.d[size_t(m * nb + b)];
#if HYB_QUANT_X86
      if (avx512 && n == kQuantBlock) quantize_block_avx512(xb, qb, d, &s);
      else quantize_block_scalar(xb, n, qb, d, &s);
#else
      quantize_block_scalar(xb, n, qb, d, &s);
#endif
      a.corr[size_t(m * nb + b)] = -offset * s;
    }
  });
}

// R activation rows against one 16-row weight group -> out[R][16]. Same arithmetic as group_vnni.
template <bool Q4>
void group_scalar(const uint8_t* gp, int64_t nb, const QuantActs& a, int64_t m0, int R, float* out) {
  const size_t bbytes = Q4 ? 256 : 512;
  const uint16_t* sc = reinterpret_cast<const uint16_t*>(gp + size_t(nb) * bbytes);
  for (int r = 0; r < R; ++r) {
    for (int lane = 0; lane < kQuantRows; ++lane) {
      float acc = 0.f;
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* bp = gp + size_t(b) * bbytes;
        const size_t xi = size_t((m0 + r) * nb + b);
        const int8_t* xb = a.q.data() + xi * kQuantBlock;
        int32_t ia = a.corr[xi];
        for (int i = 0; i < kQuantBlock; ++i) {
          int w;
          if (Q4) {
            const uint8_t byte = bp[64 * ((i & 15) / 4) + 4 * lane + i % 4];
            w = i < 16 ? byte & 15 : byte >> 4;
          } else {
            w = bp[64 * (i / 4) + 4 * lane + i % 4];
          }
          ia += w * xb[i];
        }
        const float s = f16_to_f32(sc[b * kQuantRows + lane]) * a.d[xi];
        acc = std::fma(float(ia), s, acc);
      }
      out[r * kQuantRows + lane] = acc;
    }
  }
}

#if HYB_QUANT_X86
constexpr size_t kPrefetch = 2048;
template <int R, bool Q4>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void group_vnni(const uint8_t* gp, int64_t nb,
                                                                        const QuantActs& a, int64_t m0, float* out) {
  constexpr size_t bbytes = Q4 ? 256 : 512;
  const uint16_t* sc = reinterpret_cast<const uint16_t*>(gp + size_t(nb) * bbytes);
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* bp = gp + size_t(b) * bbytes;
    // Software prefetch kPrefetch bytes ahead in the weight stream (past the group's end it runs into the next
    // group, which the same thread usually reads next). The address is formed as an integer: past the last group
    // it points beyond the weights, where a pointer may not go; a prefetch of any address never faults.
    const uintptr_t ahead = reinterpret_cast<uintptr_t>(bp) + kPrefetch;
    for (size_t l = 0; l < bbytes; l += 64) _mm_prefetch(reinterpret_cast<const char*>(ahead + l), _MM_HINT_T0);
    __m512i w[8];
    if constexpr (Q4) {
      for (int j = 0; j < 4; ++j) {
        const __m512i v = _mm512_loadu_si512(bp + 64 * j);
        w[j] = _mm512_and_si512(v, low4);
        w[j + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
      }
    } else {
      for (int j = 0; j < 8; ++j) w[j] = _mm512_loadu_si512(bp + 64 * j);
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sc + b * kQuantRows)));
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const size_t xi = size_t((m0 + r) * nb + b);
      const int8_t* xb = a.q.data() + xi * kQuantBlock;
      // Two int32 chains of 4 (even / odd k-quads), so that vpdpbusd's latency is covered; their sum is exact.
      __m512i ia0 = _mm512_set1_epi32(a.corr[xi]), ia1 = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int j = 0; j < 8; j += 2) {
        int32_t x0, x1;
        std::memcpy(&x0, xb + 4 * j, 4);
        std::memcpy(&x1, xb + 4 * j + 4, 4);
        ia0 = _mm512_dpbusd_epi32(ia0, w[j], _mm512_set1_epi32(x0));
        ia1 = _mm512_dpbusd_epi32(ia1, w[j + 1], _mm512_set1_epi32(x1));
      }
      const __m512 s = _mm512_mul_ps(dw, _mm512_set1_ps(a.d[xi]));
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(ia0, ia1)), s, acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) _mm512_storeu_ps(out + r * kQuantRows, acc[r]);
}

template <bool Q4>
void group_vnni_rows(const uint8_t* gp, int64_t nb, const QuantActs& a, int64_t m0, int R, float* out) {
  switch (R) {
    case 8: group_vnni<8, Q4>(gp, nb, a, m0, out); break;
    case 7: group_vnni<7, Q4>(gp, nb, a, m0, out); break;
    case 6: group_vnni<6, Q4>(gp, nb, a, m0, out); break;
    case 5: group_vnni<5, Q4>(gp, nb, a, m0, out); break;
    case 4: group_vnni<4, Q4>(gp, nb, a, m0, out); break;
    case 3: group_vnni<3, Q4>(gp, nb, a, m0, out); break;
    case 2: group_vnni<2, Q4>(gp, nb, a, m0, out); break;
    default: group_vnni<1, Q4>(gp, nb, a, m0, out); break;
  }
}
#endif


// Exact compute keeps f32 activations (weights widened to f32 for SGEMM) from this many rows up, as before the
// int8 GEMM existed: logits / eval of a quantized checkpoint see weight rounding only. Decode rows always take the
// int8 path (that is where quantized weights pay).
constexpr int64_t kExactMatvecRows = 32;

using GroupFn = void (*)(const uint8_t*, int64_t, const QuantActs&, int64_t, int, float*);

GroupFn pick_group_fn(DType t) {
#if HYB_QUANT_X86
  if (g_use_vnni) return t == DType::Q4_0 ? group_vnni_rows<true> : group_vnni_rows<false>;
#endif
  return t == DType::Q4_0 ? group_scalar<true> : group_scalar<false>;
}

// Widens rows [n0, n0 + n) to f32 [n, K] (the widened_gemm tile callback).
void unpack_rows(const WeightMat& W, int64_t n0, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) quant_unpack_row(W.dtype, W.u8(), W.rows, W.cols, n0 + i, out + i * W.cols);
}


}  // namespace

bool quant_vnni_supported() { return detect_vnni(); }

void set_quant_kernel(QuantKernel k) {
  if (k == QuantKernel::Vnni && !detect_vnni()) fail("quantized matvec: this CPU has no AVX-512 VNNI");
  g_use_vnni = k == QuantKernel::Scalar ? false : detect_vnni();
}

const char* quant_kernel_name() { return g_use_vnni ? "avx512-vnni" : "scalar"; }

void quant_matvec(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy, float beta) {
  const LinearOut out{&W, y, ldy};
  quant_matvec_multi(x, M, ldx, &out, 1, beta);
}

void quant_matvec_multi(const float* x, int64_t M, int64_t ldx, const LinearOut* outs, int n_outs, float beta) {
  if (n_outs <= 0 || M <= 0) return;
  const int64_t K = outs[0].W->cols;
  // The activations quantized once for the whole group of matrices (once per weight format present: the
  // correction term depends on the format's offset).
  static thread_local QuantActs acts8, acts4;
  bool has8 = false, has4 = false;
  size_t total = 0;  // weight bytes of all matrices: the threads take equal shares, cut at group boundaries
  for (int i = 0; i < n_outs; ++i) {
    const WeightMat& W = *outs[i].W;
    HYB_ASSERT(is_quant_dtype(W.dtype) && W.cols == K);
    (W.dtype == DType::Q8_0 ? has8 : has4) = true;
    total += quant_matrix_bytes(W.dtype, W.rows, W.cols);
  }
  if (has8) quantize_acts(x, M, ldx, K, 128, acts8);
  if (has4) quantize_acts(x, M, ldx, K, 8, acts4);
  const QuantActs* a8 = &acts8;  // the calling thread's, shared read-only with the team
  const QuantActs* a4 = &acts4;
  // One parallel region for the group (decode forks once per group of projections, not once per matrix); the
  // weight bytes are cut into chunks at group boundaries, streamed and stolen as in the BF16 matvec (StealQueue).
  constexpr size_t kChunk = size_t(1) << 16;
  const bool par = total >= (1 << 16);
  StealQueue queue(int64_t((total + kChunk - 1) / kChunk), par ? omp_get_max_threads() : 1);
  parallel_region(par, [&](int t, int) {
    float out[kTileRows * kQuantRows];
    for (int64_t c; (c = queue.next(t)) >= 0;) {
      const size_t e0 = size_t(c) * kChunk, e1 = std::min(total, e0 + kChunk);
      size_t base = 0;
      for (int i = 0; i < n_outs && base < e1; ++i) {
        const WeightMat& W = *outs[i].W;
        const size_t gbytes = quant_group_bytes(W.dtype, K);
        const int64_t groups = quant_groups(W.rows);
        // Groups whose first byte falls in [e0, e1) belong to this chunk.
        const auto first = [&](size_t e) {
          return e <= base ? int64_t(0) : std::min(groups, int64_t((e - base + gbytes - 1) / gbytes));
        };
        const int64_t g0 = first(e0), g1 = e1 == total ? groups : first(e1);
        base += size_t(groups) * gbytes;
        if (g0 >= g1) continue;
        const GroupFn fn = pick_group_fn(W.dtype);
        const QuantActs& a = W.dtype == DType::Q8_0 ? *a8 : *a4;
        for (int64_t g = g0; g < g1; ++g) {
          const int64_t n0 = g * kQuantRows, rows = std::min(kQuantRows, W.rows - n0);
          for (int64_t m0 = 0; m0 < M; m0 += kTileRows) {
            const int R = int(std::min<int64_t>(kTileRows, M - m0));
            fn(W.u8() + size_t(g) * gbytes, a.nb, a, m0, R, out);
            for (int r = 0; r < R; ++r) {
              float* yp = outs[i].y + (m0 + r) * outs[i].ldy + n0;
              for (int64_t j = 0; j < rows; ++j)
                yp[j] = beta != 0.f ? yp[j] + out[r * kQuantRows + j] : out[r * kQuantRows + j];
            }
          }
        }
      }
    }
  });
}

void quant_linear(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy, float beta) {
  if (M <= kExactMatvecRows || compute_mode() == Compute::Fast) quant_matvec(x, M, ldx, W, y, ldy, beta);
  else widened_gemm(x, M, ldx, W, y, ldy, beta, unpack_rows);
}

}  // namespace hyb
