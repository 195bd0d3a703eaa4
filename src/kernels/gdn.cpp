#include "kernels/gdn.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/gdn_blas.h"

namespace hyb {

// Two sweeps over the state per token instead of four: the first reads e^{g}S once for both Sᵀk and Sᵀq
// (o = (e^{g}S + k δᵀ)ᵀ q = e^{g}Sᵀq + δ (k·q)), the second applies decay and the rank-1 update together.
// The inner loops run along a state row, so they vectorise over dv.
template <class F>
void gdn_recurrent(const GdnArgs<F>& a) {
  const int64_t ratio = a.Hv / a.Hk, dk = a.dk, dv = a.dv;
#pragma omp parallel if (a.Hv > 1 && a.T * a.Hv * dk * dv > 32768)
  {
    F* const sk_ = gdn_detail::thread_scratch<F>(size_t(3 * dv));
    F* const sq_ = sk_ + dv;
    F* const de = sq_ + dv;
#pragma omp for schedule(static)
    for (int64_t h = 0; h < a.Hv; ++h) {
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
  }
}

// Per chunk every step is a small dense product (spec §5.1 tags F1..F10); the only per-token work left is
// scaling rows and the n²/2 exponentials of the decay mask.
template <class F>
void gdn_chunk_forward(const GdnArgs<F>& a, int64_t C) {
  using gdn_detail::gemm;
  const int64_t ratio = a.Hv / a.Hk, dk = a.dk, dv = a.dv;
#pragma omp parallel
  {
    // Z holds [W; diag(e^γ) Q] stacked so one product with S0 serves both F7 and F9; G receives it.
    F* const base = gdn_detail::thread_scratch<F>(size_t(3 * C + 2 * C * C + C * dv + 2 * C * dk + 2 * C * dv));
    F* const gam = base; F* const eg = gam + C; F* const bet = eg + C;
    F* const Am = bet + C; F* const P = Am + C * C; F* const U = P + C * C; F* const Z = U + C * dv;
    F* const G = Z + 2 * C * dk;
#pragma omp for schedule(dynamic, 1)
    for (int64_t h = 0; h < a.Hv; ++h) {
      F* S = a.state + h * dk * dv;
      const int64_t kh = h / ratio;
      for (int64_t c0 = 0; c0 < a.T; c0 += C) {
        const int64_t n = std::min(C, a.T - c0);
        const F* Kc = a.k + c0 * a.ldk + kh * dk;
        const F* Qc = a.q + c0 * a.ldq + kh * dk;
        const F* Vc = a.v + c0 * a.ldv + h * dv;
        F run = 0;  // F1
        for (int64_t r = 0; r < n; ++r) {
          run += a.g[(c0 + r) * a.Hv + h];
          gam[r] = run;
          eg[r] = std::exp(run);
          bet[r] = a.beta[(c0 + r) * a.Hv + h];
        }
        // F2, F3, F8: both Gram products in full, then the decay mask on and below the diagonal.
        gdn_detail::gemm_nt_lower(n, dk, Kc, a.ldk, Kc, a.ldk, Am, C);
        gdn_detail::gemm_nt_lower(n, dk, Qc, a.ldq, Kc, a.ldk, P, C);
        for (int64_t r = 0; r < n; ++r) {
          F* ar = &Am[r * C];
          F* pr = &P[r * C];
          for (int64_t c = 0; c <= r; ++c) {
            const F e = std::exp(gam[r] - gam[c]);  // c ≤ r: exponent ≤ 0
            ar[c] *= bet[r] * e;
            pr[c] *= e;
          }
          std::fill(pr + r + 1, pr + n, F(0));  // the lower-triangular product below reads the diagonal blocks
        }
        // F4-F6: (I + A) [U | W] = [diag(β) V | diag(β e^γ) K] by a triangular solve.
        F* W = Z;
        F* Qs = Z + n * dk;
        for (int64_t r = 0; r < n; ++r) {
          const F* v = Vc + r * a.ldv; const F* k = Kc + r * a.ldk; const F* q = Qc + r * a.ldq;
          F* u = &U[r * dv]; F* w = W + r * dk; F* qs = Qs + r * dk;
          const F b = bet[r], be = bet[r] * eg[r], e = eg[r];
          for (int64_t j = 0; j < dv; ++j) u[j] = b * v[j];
          for (int64_t i = 0; i < dk; ++i) { w[i] = be * k[i]; qs[i] = e * q[i]; }
        }
        gdn_detail::unit_lower_solve(false, n, dv, Am, C, U, dv);
        gdn_detail::unit_lower_solve(false, n, dk, Am, C, W, dk);
        // [W; diag(e^γ) Q] · S0, then F7 Vn = U − W S0 (in U) and F9 O = diag(e^γ) Q S0 + P Vn.
        gemm(false, false, 2 * n, dv, dk, F(1), Z, dk, S, dv, F(0), G, dv);
        for (int64_t i = 0; i < n * dv; ++i) U[i] -= G[i];
        for (int64_t r = 0; r < n; ++r) std::copy_n(&G[(n + r) * dv], dv, a.out + (c0 + r) * a.ldo + h * dv);
        gdn_detail::gemm_lower_nn(n, dv, P, C, U, dv, a.out + c0 * a.ldo + h * dv, a.ldo);
        // F10: S1 = e^{γ_n} S0 + (diag(e^{γ_n − γ}) K)ᵀ Vn; W's rows are free to hold the scaled keys.
        const F gl = gam[n - 1];
        for (int64_t r = 0; r < n; ++r) {
          const F e = std::exp(gl - gam[r]);
          const F* k = Kc + r * a.ldk;
          F* w = W + r * dk;
          for (int64_t i = 0; i < dk; ++i) w[i] = e * k[i];
        }
        gemm(true, false, dk, dv, n, F(1), W, dk, U, dv, eg[n - 1], S, dv);
      }
    }
  }
}

template void gdn_recurrent<float>(const GdnArgs<float>&);
template void gdn_recurrent<double>(const GdnArgs<double>&);
template void gdn_chunk_forward<float>(const GdnArgs<float>&, int64_t);
template void gdn_chunk_forward<double>(const GdnArgs<double>&, int64_t);

}  // namespace hyb
