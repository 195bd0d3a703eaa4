#include "kernels/gdn.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace hyb {

template <class F>
void gdn_recurrent(const GdnArgs<F>& a) {
  const int64_t ratio = a.Hv / a.Hk, dk = a.dk, dv = a.dv;
#pragma omp parallel for schedule(static) if (a.Hv > 1 && a.T * dk * dv > 4096)
  for (int64_t h = 0; h < a.Hv; ++h) {
    F* S = a.state + h * dk * dv;
    const int64_t kh = h / ratio;
    std::vector<F> delta(dv);
    for (int64_t t = 0; t < a.T; ++t) {
      const F* q = a.q + t * a.ldq + kh * dk;
      const F* k = a.k + t * a.ldk + kh * dk;
      const F* v = a.v + t * a.ldv + h * dv;
      const F decay = std::exp(a.g[t * a.Hv + h]), beta = a.beta[t * a.Hv + h];
      for (int64_t j = 0; j < dv * dk; ++j) S[j] *= decay;
      for (int64_t j = 0; j < dv; ++j) delta[j] = 0;
      for (int64_t i = 0; i < dk; ++i)
        for (int64_t j = 0; j < dv; ++j) delta[j] += S[i * dv + j] * k[i];
      for (int64_t j = 0; j < dv; ++j) delta[j] = beta * (v[j] - delta[j]);
      for (int64_t i = 0; i < dk; ++i)
        for (int64_t j = 0; j < dv; ++j) S[i * dv + j] += k[i] * delta[j];
      F* o = a.out + t * a.ldo + h * dv;
      for (int64_t j = 0; j < dv; ++j) o[j] = 0;
      for (int64_t i = 0; i < dk; ++i)
        for (int64_t j = 0; j < dv; ++j) o[j] += S[i * dv + j] * q[i];
    }
  }
}

template <class F>
void gdn_chunk_forward(const GdnArgs<F>& a, int64_t C) {
  const int64_t ratio = a.Hv / a.Hk, dk = a.dk, dv = a.dv;
#pragma omp parallel
  {
    std::vector<F> gam(C), bet(C), A(C * C), QK(C * C), U(C * dv), W(C * dk), X(dv);
#pragma omp for schedule(dynamic, 1)
    for (int64_t h = 0; h < a.Hv; ++h) {
      F* S = a.state + h * dk * dv;
      const int64_t kh = h / ratio;
      for (int64_t c0 = 0; c0 < a.T; c0 += C) {
        const int64_t n = std::min(C, a.T - c0);
        auto Q = [&](int64_t r) { return a.q + (c0 + r) * a.ldq + kh * dk; };
        auto K = [&](int64_t r) { return a.k + (c0 + r) * a.ldk + kh * dk; };
        auto V = [&](int64_t r) { return a.v + (c0 + r) * a.ldv + h * dv; };
        // F1: inclusive cumulative log-decay inside the chunk.
        F run = 0;
        for (int64_t r = 0; r < n; ++r) {
          run += a.g[(c0 + r) * a.Hv + h];
          gam[r] = run;
          bet[r] = a.beta[(c0 + r) * a.Hv + h];
        }
        // F2/F3/F8: decayed key-key (strictly lower) and query-key (with diagonal) products.
        for (int64_t r = 0; r < n; ++r)
          for (int64_t c = 0; c <= r; ++c) {
            const F* kr = K(r); const F* kc = K(c); const F* qr = Q(r);
            F kk = 0, qk = 0;
            for (int64_t i = 0; i < dk; ++i) { kk += kr[i] * kc[i]; qk += qr[i] * kc[i]; }
            const F e = std::exp(gam[r] - gam[c]);  // c ≤ r, so the exponent is ≤ 0
            A[r * C + c] = c < r ? bet[r] * e * kk : F(0);
            QK[r * C + c] = qk * e;
          }
        // F4-F6: forward substitution of (I + A) [U | W] = [diag(β) V | diag(β e^γ) K].
        for (int64_t r = 0; r < n; ++r) {
          F* u = &U[r * dv];
          F* w = &W[r * dk];
          const F* v = V(r); const F* k = K(r);
          const F bw = bet[r] * std::exp(gam[r]);
          for (int64_t j = 0; j < dv; ++j) u[j] = bet[r] * v[j];
          for (int64_t i = 0; i < dk; ++i) w[i] = bw * k[i];
          for (int64_t c = 0; c < r; ++c) {
            const F arc = A[r * C + c];
            const F* uc = &U[c * dv]; const F* wc = &W[c * dk];
            for (int64_t j = 0; j < dv; ++j) u[j] -= arc * uc[j];
            for (int64_t i = 0; i < dk; ++i) w[i] -= arc * wc[i];
          }
        }
        // F7: Vn = U − W S0 (in place in U).
        for (int64_t r = 0; r < n; ++r) {
          F* u = &U[r * dv];
          const F* w = &W[r * dk];
          for (int64_t i = 0; i < dk; ++i) {
            const F wi = w[i];
            const F* Si = S + i * dv;
            for (int64_t j = 0; j < dv; ++j) u[j] -= wi * Si[j];
          }
        }
        // F9: O = diag(e^γ) Q S0 + P Vn.
        for (int64_t r = 0; r < n; ++r) {
          F* o = a.out + (c0 + r) * a.ldo + h * dv;
          const F* q = Q(r);
          for (int64_t j = 0; j < dv; ++j) X[j] = 0;
          for (int64_t i = 0; i < dk; ++i) {
            const F qi = q[i];
            const F* Si = S + i * dv;
            for (int64_t j = 0; j < dv; ++j) X[j] += qi * Si[j];
          }
          const F eg = std::exp(gam[r]);
          for (int64_t j = 0; j < dv; ++j) X[j] *= eg;
          for (int64_t c = 0; c <= r; ++c) {
            const F p = QK[r * C + c];
            const F* vn = &U[c * dv];
            for (int64_t j = 0; j < dv; ++j) X[j] += p * vn[j];
          }
          for (int64_t j = 0; j < dv; ++j) o[j] = X[j];
        }
        // F10: S1 = e^{γ_n} S0 + Σ_r e^{γ_n − γ_r} k_r Vn_rᵀ.
        const F gl = gam[n - 1], egl = std::exp(gl);
        for (int64_t i = 0; i < dk * dv; ++i) S[i] *= egl;
        for (int64_t r = 0; r < n; ++r) {
          const F e = std::exp(gl - gam[r]);
          const F* k = K(r);
          const F* vn = &U[r * dv];
          for (int64_t i = 0; i < dk; ++i) {
            const F ki = e * k[i];
            F* Si = S + i * dv;
            for (int64_t j = 0; j < dv; ++j) Si[j] += ki * vn[j];
          }
        }
      }
    }
  }
}

template void gdn_recurrent<float>(const GdnArgs<float>&);
template void gdn_recurrent<double>(const GdnArgs<double>&);
template void gdn_chunk_forward<float>(const GdnArgs<float>&, int64_t);
template void gdn_chunk_forward<double>(const GdnArgs<double>&, int64_t);

}  // namespace hyb
