// Chunked gated-delta-rule backward (spec §5.2; equation tags R1..R14 refer to it).
#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "kernels/gdn.h"

namespace hyb {

namespace {

// Everything the forward computes inside one chunk of one value head, rebuilt for the backward.
template <class F>
struct ChunkWork {
  int64_t C, dk, dv, n = 0;
  std::vector<F> gam, eg, bet, E, KK, P, A, Tm, U, W, Vn;
  ChunkWork(int64_t C_, int64_t dk_, int64_t dv_)
      : C(C_), dk(dk_), dv(dv_), gam(C), eg(C), bet(C), E(C * C), KK(C * C), P(C * C), A(C * C), Tm(C * C),
        U(C * dv), W(C * dk), Vn(C * dv) {}

  // Q(r), K(r), V(r) give row r of the chunk; S0 is the state entering it.
  template <class RowQ, class RowK, class RowV>
  void build(int64_t n_, const F* g, const F* beta, int64_t stride, RowQ Q, RowK K, RowV V, const F* S0) {
    n = n_;
    F run = 0;
    for (int64_t r = 0; r < n; ++r) {  // F1
      run += g[r * stride];
      gam[r] = run;
      eg[r] = std::exp(run);
      bet[r] = beta[r * stride];
    }
    for (int64_t r = 0; r < n; ++r)  // F2, F3, F8
      for (int64_t c = 0; c <= r; ++c) {
        const F* kr = K(r); const F* kc = K(c); const F* qr = Q(r);
        F kk = 0, qk = 0;
        for (int64_t i = 0; i < dk; ++i) { kk += kr[i] * kc[i]; qk += qr[i] * kc[i]; }
        const F e = std::exp(gam[r] - gam[c]);  // c ≤ r: exponent ≤ 0
        E[r * C + c] = e;
        KK[r * C + c] = kk;
        P[r * C + c] = qk * e;
        A[r * C + c] = c < r ? bet[r] * e * kk : F(0);
      }
    for (int64_t r = 0; r < n; ++r) {  // F4: Tm = (I + A)^-1 by forward substitution
      F* tr = &Tm[r * C];
      for (int64_t c = 0; c < r; ++c) {
        F s = 0;
        for (int64_t m = c; m < r; ++m) s += A[r * C + m] * Tm[m * C + c];
        tr[c] = -s;
      }
      tr[r] = 1;
    }
    for (int64_t r = 0; r < n; ++r) {  // F5, F6, F7
      F* u = &U[r * dv]; F* w = &W[r * dk];
      std::fill(u, u + dv, F(0));
      std::fill(w, w + dk, F(0));
      for (int64_t c = 0; c <= r; ++c) {
        const F t = Tm[r * C + c];
        const F tb = t * bet[c], tbe = tb * eg[c];
        const F* v = V(c); const F* k = K(c);
        for (int64_t j = 0; j < dv; ++j) u[j] += tb * v[j];
        for (int64_t i = 0; i < dk; ++i) w[i] += tbe * k[i];
      }
      F* vn = &Vn[r * dv];
      for (int64_t j = 0; j < dv; ++j) vn[j] = u[j];
      for (int64_t i = 0; i < dk; ++i) {
        const F wi = w[i];
        const F* Si = S0 + i * dv;
        for (int64_t j = 0; j < dv; ++j) vn[j] -= wi * Si[j];
      }
    }
  }

  // F10: S ← e^{γ_n} S + Σ_r e^{γ_n − γ_r} k_r Vn_rᵀ.
  template <class RowK>
  void advance(F* S, RowK K) const {
    const F gl = gam[n - 1], egl = std::exp(gl);
    for (int64_t i = 0; i < dk * dv; ++i) S[i] *= egl;
    for (int64_t r = 0; r < n; ++r) {
      const F e = std::exp(gl - gam[r]);
      const F* k = K(r); const F* vn = &Vn[r * dv];
      for (int64_t i = 0; i < dk; ++i) {
        const F ki = e * k[i];
        F* Si = S + i * dv;
        for (int64_t j = 0; j < dv; ++j) Si[j] += ki * vn[j];
      }
    }
  }
};

}  // namespace

template <class F>
void gdn_chunk_backward(const GdnArgs<F>& a, const GdnGradArgs<F>& d, int64_t C) {
  const int64_t ratio = a.Hv / a.Hk, dk = a.dk, dv = a.dv, T = a.T, Hv = a.Hv;
  const int64_t nch = (T + C - 1) / C;
  // One key head per task: dq/dk of a key head collect the contributions of all its value heads.
#pragma omp parallel
  {
    ChunkWork<F> cw(C, dk, dv);
    std::vector<F> states(size_t(nch * dk * dv)), S(dk * dv), dS(dk * dv), dS0(dk * dv);
    std::vector<F> dVn(C * dv), X(C * dv), dW(C * dk), Y(C * dk), dQ(C * dk), dK(C * dk), SdO(C * dk),
        dSVn(C * dk), dP(C * C), dA(C * C), dgam(C);
#pragma omp for schedule(dynamic, 1)
    for (int64_t kh = 0; kh < a.Hk; ++kh) {
      for (int64_t t = 0; t < T; ++t) {
        std::fill_n(d.dq + t * d.lddq + kh * dk, dk, F(0));
        std::fill_n(d.dk + t * d.lddk + kh * dk, dk, F(0));
      }
      for (int64_t h = kh * ratio; h < (kh + 1) * ratio; ++h) {
        auto rows = [&](int64_t c0) {
          auto Q = [&, c0](int64_t r) { return a.q + (c0 + r) * a.ldq + kh * dk; };
          auto K = [&, c0](int64_t r) { return a.k + (c0 + r) * a.ldk + kh * dk; };
          auto V = [&, c0](int64_t r) { return a.v + (c0 + r) * a.ldv + h * dv; };
          return std::make_tuple(Q, K, V);
        };
        // Forward sweep: the state entering every chunk.
        if (a.state) std::copy_n(a.state + h * dk * dv, dk * dv, S.begin());
        else std::fill(S.begin(), S.end(), F(0));
        for (int64_t ci = 0; ci < nch; ++ci) {
          const int64_t c0 = ci * C, n = std::min(C, T - c0);
          std::copy(S.begin(), S.end(), states.begin() + ci * dk * dv);
          if (ci == nch - 1) break;
          auto [Q, K, V] = rows(c0);
          cw.build(n, a.g + c0 * Hv + h, a.beta + c0 * Hv + h, Hv, Q, K, V, S.data());
          cw.advance(S.data(), K);
        }
        // Backward sweep, chunks in reverse.
        if (d.dstate_final) std::copy_n(d.dstate_final + h * dk * dv, dk * dv, dS.begin());
        else std::fill(dS.begin(), dS.end(), F(0));
        for (int64_t ci = nch - 1; ci >= 0; --ci) {
          const int64_t c0 = ci * C, n = std::min(C, T - c0);
          const F* S0 = states.data() + ci * dk * dv;
          auto [Q, K, V] = rows(c0);
          cw.build(n, a.g + c0 * Hv + h, a.beta + c0 * Hv + h, Hv, Q, K, V, S0);
          const F* gam = cw.gam.data(); const F* eg = cw.eg.data(); const F* bet = cw.bet.data();
          const F gn = gam[n - 1], egn = std::exp(gn);
          auto dO = [&](int64_t r) { return d.dout + (c0 + r) * d.lddo + h * dv; };
          std::fill(dgam.begin(), dgam.end(), F(0));

          // R1: dVn_c = Σ_{r≥c} P_rc dO_r + e^{γn−γc} dS1ᵀ k_c
          for (int64_t c = 0; c < n; ++c) {
            F* o = &dVn[c * dv];
            std::fill(o, o + dv, F(0));
            for (int64_t r = c; r < n; ++r) {
              const F p = cw.P[r * C + c];
              const F* g = dO(r);
              for (int64_t j = 0; j < dv; ++j) o[j] += p * g[j];
            }
            const F e = std::exp(gn - gam[c]);
            const F* k = K(c);
            for (int64_t i = 0; i < dk; ++i) {
              const F ki = e * k[i];
              const F* dSi = &dS[i * dv];
              for (int64_t j = 0; j < dv; ++j) o[j] += ki * dSi[j];
            }
          }
          // S0·dO_r and dS1·Vn_r (both [dk]) feed R4, R5 and R13.
          for (int64_t r = 0; r < n; ++r) {
            const F* g = dO(r); const F* vn = &cw.Vn[r * dv];
            for (int64_t i = 0; i < dk; ++i) {
              const F* Si = S0 + i * dv; const F* dSi = &dS[i * dv];
              F s1 = 0, s2 = 0;
              for (int64_t j = 0; j < dv; ++j) { s1 += Si[j] * g[j]; s2 += dSi[j] * vn[j]; }
              SdO[r * dk + i] = s1;
              dSVn[r * dk + i] = s2;
            }
          }
          // R3 and the P terms of R13.
          for (int64_t r = 0; r < n; ++r) {
            const F* g = dO(r);
            for (int64_t c = 0; c <= r; ++c) {
              const F* vn = &cw.Vn[c * dv];
              F s = 0;
              for (int64_t j = 0; j < dv; ++j) s += g[j] * vn[j];
              dP[r * C + c] = s * cw.E[r * C + c];
              if (c < r) {
                const F term = s * cw.P[r * C + c];
                dgam[r] += term;
                dgam[c] -= term;
              }
            }
          }
          // R4, R5 (+ the decay terms of R13).
          for (int64_t r = 0; r < n; ++r) {
            F* dq = &dQ[r * dk]; F* dkr = &dK[r * dk];
            const F* q = Q(r); const F* k = K(r);
            F qs = 0, kh2 = 0;
            for (int64_t i = 0; i < dk; ++i) {
              dq[i] = eg[r] * SdO[r * dk + i];
              qs += q[i] * SdO[r * dk + i];
              kh2 += k[i] * dSVn[r * dk + i];
            }
            dgam[r] += eg[r] * qs;
            const F e = std::exp(gn - gam[r]);
            const F hr = e * kh2;
            dgam[n - 1] += hr;
            dgam[r] -= hr;
            for (int64_t i = 0; i < dk; ++i) dkr[i] = e * dSVn[r * dk + i];
          }
          for (int64_t r = 0; r < n; ++r)
            for (int64_t c = 0; c <= r; ++c) {
              const F p = dP[r * C + c];
              const F* kc = K(c); const F* qr = Q(r);
              F* dqr = &dQ[r * dk]; F* dkc = &dK[c * dk];
              for (int64_t i = 0; i < dk; ++i) { dqr[i] += p * kc[i]; dkc[i] += p * qr[i]; }
            }
          {  // e^{γn} ⟨S0, dS1⟩
            F s = 0;
            for (int64_t i = 0; i < dk * dv; ++i) s += S0[i] * dS[i];
            dgam[n - 1] += egn * s;
          }
          // R2: dS0 = Σ_r e^{γr} q_r dO_rᵀ + e^{γn} dS1 − Σ_r W_r dVn_rᵀ
          for (int64_t i = 0; i < dk * dv; ++i) dS0[i] = egn * dS[i];
          for (int64_t r = 0; r < n; ++r) {
            const F* q = Q(r); const F* g = dO(r); const F* w = &cw.W[r * dk]; const F* dvn = &dVn[r * dv];
            for (int64_t i = 0; i < dk; ++i) {
              const F qi = eg[r] * q[i], wi = w[i];
              F* o = &dS0[i * dv];
              for (int64_t j = 0; j < dv; ++j) o[j] += qi * g[j] - wi * dvn[j];
            }
          }
          // R6: dW_r = −S0 dVn_r
          for (int64_t r = 0; r < n; ++r) {
            const F* dvn = &dVn[r * dv];
            for (int64_t i = 0; i < dk; ++i) {
              const F* Si = S0 + i * dv;
              F s = 0;
              for (int64_t j = 0; j < dv; ++j) s += Si[j] * dvn[j];
              dW[r * dk + i] = -s;
            }
          }
          // R7: X = Tmᵀ dVn, Y = Tmᵀ dW
          for (int64_t r = 0; r < n; ++r) {
            F* x = &X[r * dv]; F* y = &Y[r * dk];
            std::fill(x, x + dv, F(0));
            std::fill(y, y + dk, F(0));
            for (int64_t m = r; m < n; ++m) {
              const F t = cw.Tm[m * C + r];
              const F* a1 = &dVn[m * dv]; const F* a2 = &dW[m * dk];
              for (int64_t j = 0; j < dv; ++j) x[j] += t * a1[j];
              for (int64_t i = 0; i < dk; ++i) y[i] += t * a2[i];
            }
          }
          // R8, R9 and the W term of R13.
          for (int64_t r = 0; r < n; ++r) {
            const F* x = &X[r * dv]; const F* y = &Y[r * dk];
            const F* v = V(r); const F* k = K(r);
            F* dvo = d.dv + (c0 + r) * d.lddv + h * dv;
            F xv = 0, yk = 0;
            for (int64_t j = 0; j < dv; ++j) { dvo[j] = bet[r] * x[j]; xv += x[j] * v[j]; }
            for (int64_t i = 0; i < dk; ++i) yk += y[i] * k[i];
            d.dbeta[(c0 + r) * Hv + h] = xv + eg[r] * yk;
            dgam[r] += bet[r] * eg[r] * yk;
            const F s = bet[r] * eg[r];
            F* dkr = &dK[r * dk];
            for (int64_t i = 0; i < dk; ++i) dkr[i] += s * y[i];
          }
          // R11 via dA = −(X Uᵀ + Y Wᵀ) (strictly lower), then R12 and the A term of R13.
          for (int64_t r = 1; r < n; ++r) {
            const F* x = &X[r * dv]; const F* y = &Y[r * dk];
            const F* kr = K(r);
            F* dkr = &dK[r * dk];
            F dbr = 0;
            for (int64_t c = 0; c < r; ++c) {
              const F* u = &cw.U[c * dv]; const F* w = &cw.W[c * dk];
              F s = 0;
              for (int64_t j = 0; j < dv; ++j) s += x[j] * u[j];
              for (int64_t i = 0; i < dk; ++i) s += y[i] * w[i];
              const F da = -s;
              const F term = da * cw.A[r * C + c];
              dgam[r] += term;
              dgam[c] -= term;
              const F G = da * cw.E[r * C + c];
              dbr += G * cw.KK[r * C + c];
              const F bg = bet[r] * G;
              const F* kc = K(c);
              F* dkc = &dK[c * dk];
              for (int64_t i = 0; i < dk; ++i) { dkr[i] += bg * kc[i]; dkc[i] += bg * kr[i]; }
            }
            d.dbeta[(c0 + r) * Hv + h] += dbr;
          }
          // R14: dg_i = Σ_{r≥i} dγ_r; then scatter dq, dk onto the key head.
          F run = 0;
          for (int64_t r = n - 1; r >= 0; --r) {
            run += dgam[r];
            d.dg[(c0 + r) * Hv + h] = run;
          }
          for (int64_t r = 0; r < n; ++r) {
            F* dq = d.dq + (c0 + r) * d.lddq + kh * dk;
            F* dkk = d.dk + (c0 + r) * d.lddk + kh * dk;
            for (int64_t i = 0; i < dk; ++i) { dq[i] += dQ[r * dk + i]; dkk[i] += dK[r * dk + i]; }
          }
          std::swap(dS, dS0);
        }
        if (d.dstate0) std::copy(dS.begin(), dS.end(), d.dstate0 + h * dk * dv);
      }
    }
  }
}

template void gdn_chunk_backward<float>(const GdnArgs<float>&, const GdnGradArgs<float>&, int64_t);
template void gdn_chunk_backward<double>(const GdnArgs<double>&, const GdnGradArgs<double>&, int64_t);

}  // namespace hyb
