#include "kernels/gdn.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "core/parallel.h"
#include "kernels/gdn_chunk.h"
#include "kernels/gdn_chunk_bf16.h"
#include "kernels/gemm_bf16.h"

namespace hyb {

// Two sweeps over the state per token instead of four: the first reads e^{g}S once for both Sᵀk and Sᵀq
// (o = (e^{g}S + k δᵀ)ᵀ q = e^{g}Sᵀq + δ (k·q)), the second applies decay and the rank-1 update together.
// The inner loops run along a state row, so they vectorise over dv.
template <class F>
void gdn_recurrent(const GdnArgs<F>& a) {
  const int64_t ratio = a.Hv / a.Hk, dk = a.dk, dv = a.dv;
  parallel_region(a.Hv > 1 && a.T * a.Hv * dk * dv > 32768, [&](int th, int nth) {
    F* const sk_ = gdn_detail::thread_scratch<F>(size_t(3 * dv));
    F* const sq_ = sk_ + dv;
    F* const de = sq_ + dv;
    for (int64_t h = a.Hv * th / nth; h < a.Hv * (th + 1) / nth; ++h) {
      F* S = a.state + h * dk * dv;
      const int64_t kh = h / ratio;
      for (int64_t t = 0; t < a.T; ++t) {
        const F* q = a.q + t * a.ldq + kh * dk;
        const F* k = a.k + t * a.ldk + kh * dk;
        const F* v = a.v + t * a.ldv + h * dv;
        const F decay = std::exp(a.g[t * a.Hv + h]), beta = a.beta[t * a.Hv + h];
        F kq = 0;
        for (int64_t i = 0; i < dk; ++i) kq += k[i] * q[i];
        // Column blocks of kJ keep both accumulators in registers for the whole sweep down the rows.
        constexpr int64_t kJ = 32;
        int64_t j0 = 0;
        for (; j0 + kJ <= dv; j0 += kJ) {
          F ak[kJ] = {}, aq[kJ] = {};
          for (int64_t i = 0; i < dk; ++i) {
            const F ki = k[i], qi = q[i];
            const F* Si = S + i * dv + j0;
#pragma omp simd
            for (int64_t j = 0; j < kJ; ++j) { ak[j] += ki * Si[j]; aq[j] += qi * Si[j]; }
          }
          std::copy_n(ak, kJ, sk_ + j0);
          std::copy_n(aq, kJ, sq_ + j0);
        }
        if (j0 < dv) {
          std::fill(sk_ + j0, sk_ + dv, F(0));
          std::fill(sq_ + j0, sq_ + dv, F(0));
          for (int64_t i = 0; i < dk; ++i) {
            const F ki = k[i], qi = q[i];
            const F* Si = S + i * dv;
            for (int64_t j = j0; j < dv; ++j) { sk_[j] += ki * Si[j]; sq_[j] += qi * Si[j]; }
          }
        }
        F* o = a.out + t * a.ldo + h * dv;
#pragma omp simd
        for (int64_t j = 0; j < dv; ++j) {
          de[j] = beta * (v[j] - decay * sk_[j]);
          o[j] = decay * sq_[j] + kq * de[j];
        }
        for (int64_t i = 0; i < dk; ++i) {
          const F ki = k[i];
          F* Si = S + i * dv;
#pragma omp simd
          for (int64_t j = 0; j < dv; ++j) Si[j] = decay * Si[j] + ki * de[j];
        }
      }
    }
  });
}

namespace {

// The chunked forward over any chunk implementation (ChunkWork<F>, or ChunkWorkBf16 for F = float). Per chunk every
// step is a small dense product (kernels/gdn_chunk.h); the only per-token work left is scaling rows and the n²/2
// exponentials of the decay mask.
template <class Work, class F>
void chunk_sweep(const GdnArgs<F>& a, int64_t C) {
  const int64_t ratio = a.Hv / a.Hk, dk = a.dk, dv = a.dv;
#pragma omp parallel
  {
    Work w;
    w.init(C, dk, dv);
    // Each thread owns a contiguous block of heads and walks the chunks outside, its heads inside: the rows of
    // one chunk are then read as one contiguous run per token (all the thread's heads), which the hardware
    // prefetchers follow and the TLB holds, where head-major order jumps a whole row stride per token.
    const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t h0 = a.Hv * t / nt, h1 = a.Hv * (t + 1) / nt;
    for (int64_t c0 = 0; c0 < a.T; c0 += C) {
      const int64_t n = std::min(C, a.T - c0);
      for (int64_t h = h0; h < h1; ++h) {
        F* S = a.state + h * dk * dv;
        const int64_t kh = h / ratio;
        // The next head's rows (or the next chunk's first) into L2 while this one computes: ~60 µs ahead, and
        // left to demand misses their copies cost about a sixth of the kernel.
        {
          const int64_t hn = h + 1 < h1 ? h + 1 : h0, cn = h + 1 < h1 ? c0 : c0 + C;
          if (cn < a.T) {
            const int64_t nn = std::min(C, a.T - cn), khn = hn / ratio;
            gdn_detail::prefetch_rows(a.q + cn * a.ldq + khn * dk, a.ldq, nn, dk);
            gdn_detail::prefetch_rows(a.k + cn * a.ldk + khn * dk, a.ldk, nn, dk);
            gdn_detail::prefetch_rows(a.v + cn * a.ldv + hn * dv, a.ldv, nn, dv);
          }
        }
        w.build(n, a.g + c0 * a.Hv + h, a.beta + c0 * a.Hv + h, a.Hv, a.q + c0 * a.ldq + kh * dk, a.ldq,
                a.k + c0 * a.ldk + kh * dk, a.ldk, a.v + c0 * a.ldv + h * dv, a.ldv, S);
        w.output(S, a.out + c0 * a.ldo + h * dv, a.ldo);
        w.advance(S);
      }
    }
  }
}

}  // namespace

template <class F>
void gdn_chunk_forward(const GdnArgs<F>& a, int64_t C) {
  chunk_sweep<gdn_detail::ChunkWork<F>>(a, C);
}

bool gdn_bf16_available() { return bf16k::dpbf16_supported(); }

namespace {
bool g_gdn_bf16 = false;
}  // namespace
void set_gdn_bf16(bool on) { g_gdn_bf16 = on; }
bool gdn_bf16_selected() { return g_gdn_bf16; }

void gdn_chunk_forward_bf16(const GdnArgs<float>& a, int64_t C) {
  if (gdn_bf16_available()) chunk_sweep<gdn_detail::ChunkWorkBf16>(a, C);
  else gdn_chunk_forward(a, C);
}

template void gdn_recurrent<float>(const GdnArgs<float>&);
template void gdn_recurrent<double>(const GdnArgs<double>&);
template void gdn_chunk_forward<float>(const GdnArgs<float>&, int64_t);
template void gdn_chunk_forward<double>(const GdnArgs<double>&, int64_t);

}  // namespace hyb
