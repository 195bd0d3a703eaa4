// Chunked gated-delta-rule backward (spec §5.2; equation tags R1..R14 refer to it). Every O(n·d·d) and O(n²·d)
// step is a small dense product or triangular solve; the per-token work left is row scalings and dot products.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/gdn.h"
#include "kernels/gdn_blas.h"

namespace hyb {

namespace {

using gdn_detail::gemm;
using gdn_detail::unit_lower_solve;

// Everything the forward computes inside one chunk of one value head, rebuilt for the backward.
template <class F>
struct ChunkWork {
  int64_t C, dk, dv, n = 0;
  std::vector<F> gam, eg, bet, E, KK, P, A, U, W, Vn, Kt;
  ChunkWork(int64_t C_, int64_t dk_, int64_t dv_)
      : C(C_), dk(dk_), dv(dv_), gam(C), eg(C), bet(C), E(C * C), KK(C * C), P(C * C), A(C * C), U(C * dv),
        W(C * dk), Vn(C * dv), Kt(C * dk) {}

  // Kc, Qc, Vc point at row 0 of the chunk; S0 is the state entering it. `with_p` also builds the
  // query-side mask P, which the forward sweep over the states does not need.
  void build(int64_t n_, const F* g, const F* beta, int64_t stride, const F* Qc, int64_t ldq, const F* Kc,
             int64_t ldk, const F* Vc, int64_t ldv, const F* S0, bool with_p) {
    n = n_;
    F run = 0;
    for (int64_t r = 0; r < n; ++r) {  // F1
      run += g[r * stride];
      gam[r] = run;
      eg[r] = std::exp(run);
      bet[r] = beta[r * stride];
    }
    gemm(false, true, n, n, dk, F(1), Kc, ldk, Kc, ldk, F(0), KK.data(), C);  // F2, F3, F8
    if (with_p) gemm(false, true, n, n, dk, F(1), Qc, ldq, Kc, ldk, F(0), P.data(), C);
    for (int64_t r = 0; r < n; ++r) {
      F* er = &E[r * C]; F* ar = &A[r * C]; F* pr = &P[r * C]; const F* kr = &KK[r * C];
      for (int64_t c = 0; c <= r; ++c) {
        er[c] = std::exp(gam[r] - gam[c]);  // c ≤ r: exponent ≤ 0
        ar[c] = c < r ? bet[r] * er[c] * kr[c] : F(0);
      }
      if (with_p) {
        for (int64_t c = 0; c <= r; ++c) pr[c] *= er[c];
        std::fill(pr + r + 1, pr + n, F(0));
      }
    }
    for (int64_t r = 0; r < n; ++r) {  // F4-F6 right-hand sides
      const F* v = Vc + r * ldv; const F* k = Kc + r * ldk;
      F* u = &U[r * dv]; F* w = &W[r * dk];
      const F b = bet[r], be = bet[r] * eg[r];
      for (int64_t j = 0; j < dv; ++j) u[j] = b * v[j];
      for (int64_t i = 0; i < dk; ++i) w[i] = be * k[i];
    }
    unit_lower_solve(false, n, dv, A.data(), C, U.data(), dv);
    unit_lower_solve(false, n, dk, A.data(), C, W.data(), dk);
    std::copy_n(U.data(), n * dv, Vn.data());  // F7
    gemm(false, false, n, dv, dk, F(-1), W.data(), dk, S0, dv, F(1), Vn.data(), dv);
    const F gn = gam[n - 1];  // K̃ = diag(e^{γ_n − γ}) K
    for (int64_t r = 0; r < n; ++r) {
      const F e = std::exp(gn - gam[r]);
      const F* k = Kc + r * ldk;
      F* kt = &Kt[r * dk];
      for (int64_t i = 0; i < dk; ++i) kt[i] = e * k[i];
    }
  }

  // F10: S ← e^{γ_n} S + K̃ᵀ Vn.
  void advance(F* S) const {
    gemm(true, false, dk, dv, n, F(1), Kt.data(), dk, Vn.data(), dv, eg[n - 1], S, dv);
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
    std::vector<F> dVn(C * dv), X(C * dv), Y(C * dk), dQ(C * dk), dK(C * dk), SdO(C * dk), dSVn(C * dk),
        Qt(C * dk), DV(C * C), dP(C * C), dA(C * C), dgam(C);
#pragma omp for schedule(dynamic, 1)
    for (int64_t kh = 0; kh < a.Hk; ++kh) {
      for (int64_t t = 0; t < T; ++t) {
        std::fill_n(d.dq + t * d.lddq + kh * dk, dk, F(0));
        std::fill_n(d.dk + t * d.lddk + kh * dk, dk, F(0));
      }
      for (int64_t h = kh * ratio; h < (kh + 1) * ratio; ++h) {
        auto build = [&](int64_t c0, int64_t n, const F* S0, bool with_p) {
          cw.build(n, a.g + c0 * Hv + h, a.beta + c0 * Hv + h, Hv, a.q + c0 * a.ldq + kh * dk, a.ldq,
                   a.k + c0 * a.ldk + kh * dk, a.ldk, a.v + c0 * a.ldv + h * dv, a.ldv, S0, with_p);
        };
        // Forward sweep: the state entering every chunk.
        if (a.state) std::copy_n(a.state + h * dk * dv, dk * dv, S.begin());
        else std::fill(S.begin(), S.end(), F(0));
        for (int64_t ci = 0; ci < nch; ++ci) {
          const int64_t c0 = ci * C, n = std::min(C, T - c0);
          std::copy(S.begin(), S.end(), states.begin() + ci * dk * dv);
          if (ci == nch - 1) break;
          build(c0, n, S.data(), false);
          cw.advance(S.data());
        }
        // Backward sweep, chunks in reverse.
        if (d.dstate_final) std::copy_n(d.dstate_final + h * dk * dv, dk * dv, dS.begin());
        else std::fill(dS.begin(), dS.end(), F(0));
        for (int64_t ci = nch - 1; ci >= 0; --ci) {
          const int64_t c0 = ci * C, n = std::min(C, T - c0);
          const F* S0 = states.data() + ci * dk * dv;
          build(c0, n, S0, true);
          const F* Kc = a.k + c0 * a.ldk + kh * dk;
          const F* Qc = a.q + c0 * a.ldq + kh * dk;
          const F* Vc = a.v + c0 * a.ldv + h * dv;
          const F* dO = d.dout + c0 * d.lddo + h * dv;
          const F* gam = cw.gam.data(); const F* eg = cw.eg.data(); const F* bet = cw.bet.data();
          const F gn = gam[n - 1], egn = eg[n - 1];
          std::fill(dgam.begin(), dgam.end(), F(0));

          // R1: dVn = Pᵀ dO + K̃ dS1
          gemm(true, false, n, dv, n, F(1), cw.P.data(), C, dO, d.lddo, F(0), dVn.data(), dv);
          gemm(false, false, n, dv, dk, F(1), cw.Kt.data(), dk, dS.data(), dv, F(1), dVn.data(), dv);
          // dO S0ᵀ and Vn dS1ᵀ (rows [dk]) feed R4, R5 and R13; dO Vnᵀ feeds R3.
          gemm(false, true, n, dk, dv, F(1), dO, d.lddo, S0, dv, F(0), SdO.data(), dk);
          gemm(false, true, n, dk, dv, F(1), cw.Vn.data(), dv, dS.data(), dv, F(0), dSVn.data(), dk);
          gemm(false, true, n, n, dv, F(1), dO, d.lddo, cw.Vn.data(), dv, F(0), DV.data(), C);
          // R3 and the P terms of R13.
          for (int64_t r = 0; r < n; ++r) {
            const F* dvr = &DV[r * C]; const F* er = &cw.E[r * C]; const F* pr = &cw.P[r * C];
            F* dpr = &dP[r * C];
            F acc = 0;
            for (int64_t c = 0; c < r; ++c) {
              dpr[c] = dvr[c] * er[c];
              const F term = dvr[c] * pr[c];
              acc += term;
              dgam[c] -= term;
            }
            dpr[r] = dvr[r];  // E_rr = 1
            dgam[r] += acc;
            std::fill(dpr + r + 1, dpr + n, F(0));
          }
          // R4, R5 row parts (+ the decay terms of R13), then the dP products.
          for (int64_t r = 0; r < n; ++r) {
            F* dq = &dQ[r * dk]; F* dkr = &dK[r * dk]; F* qt = &Qt[r * dk];
            const F* q = Qc + r * a.ldq; const F* k = Kc + r * a.ldk;
            const F* sdo = &SdO[r * dk]; const F* dsv = &dSVn[r * dk];
            const F e = std::exp(gn - gam[r]);
            F qs = 0, kh2 = 0;
            for (int64_t i = 0; i < dk; ++i) {
              dq[i] = eg[r] * sdo[i];
              qt[i] = eg[r] * q[i];
              dkr[i] = e * dsv[i];
              qs += q[i] * sdo[i];
              kh2 += k[i] * dsv[i];
            }
            dgam[r] += eg[r] * qs;
            const F hr = e * kh2;
            dgam[n - 1] += hr;
            dgam[r] -= hr;
          }
          gemm(false, false, n, dk, n, F(1), dP.data(), C, Kc, a.ldk, F(1), dQ.data(), dk);
          gemm(true, false, n, dk, n, F(1), dP.data(), C, Qc, a.ldq, F(1), dK.data(), dk);
          {  // e^{γn} ⟨S0, dS1⟩
            F s = 0;
            for (int64_t i = 0; i < dk * dv; ++i) s += S0[i] * dS[i];
            dgam[n - 1] += egn * s;
          }
          // R2: dS0 = e^{γn} dS1 + Q̃ᵀ dO − Wᵀ dVn
          for (int64_t i = 0; i < dk * dv; ++i) dS0[i] = egn * dS[i];
          gemm(true, false, dk, dv, n, F(1), Qt.data(), dk, dO, d.lddo, F(1), dS0.data(), dv);
          gemm(true, false, dk, dv, n, F(-1), cw.W.data(), dk, dVn.data(), dv, F(1), dS0.data(), dv);
          // R6, R7: Y = Tmᵀ dW with dW = −dVn S0ᵀ; X = Tmᵀ dVn.
          gemm(false, true, n, dk, dv, F(-1), dVn.data(), dv, S0, dv, F(0), Y.data(), dk);
          std::copy_n(dVn.data(), n * dv, X.data());
          unit_lower_solve(true, n, dv, cw.A.data(), C, X.data(), dv);
          unit_lower_solve(true, n, dk, cw.A.data(), C, Y.data(), dk);
          // R8, R9 and the W term of R13.
          for (int64_t r = 0; r < n; ++r) {
            const F* x = &X[r * dv]; const F* y = &Y[r * dk];
            const F* v = Vc + r * a.ldv; const F* k = Kc + r * a.ldk;
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
          // R11 via dA = −(X Uᵀ + Y Wᵀ) (strictly lower used), then R12 and the A term of R13. The two key
          // terms of R12 are one product with the symmetric M = B + Bᵀ, B_rc = β_r dA_rc E_rc (c < r).
          gemm(false, true, n, n, dv, F(-1), X.data(), dv, cw.U.data(), dv, F(0), dA.data(), C);
          gemm(false, true, n, n, dk, F(-1), Y.data(), dk, cw.W.data(), dk, F(1), dA.data(), C);
          F* M = DV.data();
          for (int64_t r = 0; r < n; ++r) {
            const F* dar = &dA[r * C]; const F* ar = &cw.A[r * C]; const F* er = &cw.E[r * C];
            const F* kkr = &cw.KK[r * C];
            F dbr = 0, acc = 0;
            M[r * C + r] = 0;
            for (int64_t c = 0; c < r; ++c) {
              const F term = dar[c] * ar[c];
              acc += term;
              dgam[c] -= term;
              const F G = dar[c] * er[c];
              dbr += G * kkr[c];
              M[r * C + c] = M[c * C + r] = bet[r] * G;
            }
            dgam[r] += acc;
            d.dbeta[(c0 + r) * Hv + h] += dbr;
          }
          gemm(false, false, n, dk, n, F(1), M, C, Kc, a.ldk, F(1), dK.data(), dk);
          // R14: dg_i = Σ_{r≥i} dγ_r; then scatter dq, dk onto the key head.
          F run = 0;
          for (int64_t r = n - 1; r >= 0; --r) {
            run += dgam[r];
            d.dg[(c0 + r) * Hv + h] = run;
          }
          for (int64_t r = 0; r < n; ++r) {
            F* dq = d.dq + (c0 + r) * d.lddq + kh * dk;
            F* dkk = d.dk + (c0 + r) * d.lddk + kh * dk;
            const F* sq = &dQ[r * dk]; const F* sk = &dK[r * dk];
            for (int64_t i = 0; i < dk; ++i) { dq[i] += sq[i]; dkk[i] += sk[i]; }
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
