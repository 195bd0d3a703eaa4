// Chunked gated-delta-rule backward (spec §5.2; equation tags R1..R14 refer to it). Every O(n·d·d) and O(n²·d)
// step is a small dense product or triangular solve; the per-token work left is row scalings and dot products.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/gdn.h"
#include "kernels/gdn_chunk.h"

namespace hyb {

namespace {

using gdn_detail::ChunkWork;
using gdn_detail::tile_gemm;
using gdn_detail::Tri;

}  // namespace

template <class F>
void gdn_chunk_backward(const GdnArgs<F>& a, const GdnGradArgs<F>& d, int64_t C) {
  const int64_t ratio = a.Hv / a.Hk, dk = a.dk, dv = a.dv, T = a.T, Hv = a.Hv;
  const int64_t nch = (T + C - 1) / C;
  // One key head per task: dq/dk of a key head collect the contributions of all its value heads.
#pragma omp parallel
  {
    // The forward sweep keeps every chunk's intermediates for the backward sweep instead of rebuilding them:
    // O(T·(C + dk + dv)) memory per thread, and a third less arithmetic than recomputing.
    const int64_t per_chunk = ChunkWork<F>::floats(C, dk, dv) + dk * dv;
    const int64_t per_thread =
        4 * dk * dv + 5 * C * dv + 8 * C * dk + 3 * C * C + C + ChunkWork<F>::scratch_floats(C, dk, dv);
    F* p = gdn_detail::thread_scratch<F>(size_t(nch * per_chunk + per_thread));
    std::vector<ChunkWork<F>> works(static_cast<size_t>(nch));
    F* const chunks = p;
    p += nch * ChunkWork<F>::floats(C, dk, dv);
    F* const states = p; p += nch * dk * dv;
    F* const S = p; p += dk * dv;
    F* const dS = p; p += dk * dv;  // dS1 entering a chunk's step, dS0 leaving it
    F* const dVn = p; p += C * dv;
    F* const X = p; p += C * dv;
    F* const Y = p; p += C * dk;
    F* const dQ = p; p += C * dk;
    F* const dK = p; p += C * dk;
    F* const SdO = p; p += C * dk;
    F* const dSVn = p; p += C * dk;
    F* const Qt = p; p += C * dk;
    F* const DV = p; p += C * C;
    F* const dP = p; p += C * C;
    F* const dA = p; p += C * C;
    F* const dgam = p; p += C;
    F* const dOl = p; p += C * dv;  // the chunk's rows of dO, contiguous (see copy_rows)
    F* const dW = p; p += C * dk;
    // Transposed operands, so that every product of the sweep is a tile product with a row-major B.
    F* const S0T = p; p += dk * dv;
    F* const dST = p; p += dk * dv;
    F* const VnT = p; p += C * dv;
    F* const UT = p; p += C * dv;
    F* const WT = p; p += C * dk;
    F* const build_scratch = p;  // shared: the works are built one after another
    for (size_t i = 0; i < works.size(); ++i)
      works[i].bind(chunks + int64_t(i) * ChunkWork<F>::floats(C, dk, dv), C, dk, dv, build_scratch);
#pragma omp for schedule(dynamic, 1)
    for (int64_t kh = 0; kh < a.Hk; ++kh) {
      for (int64_t t = 0; t < T; ++t) {
        std::fill_n(d.dq + t * d.lddq + kh * dk, dk, F(0));
        std::fill_n(d.dk + t * d.lddk + kh * dk, dk, F(0));
      }
      for (int64_t h = kh * ratio; h < (kh + 1) * ratio; ++h) {
        auto build = [&](ChunkWork<F>& cw, int64_t c0, int64_t n, const F* S0) {
          cw.build(n, a.g + c0 * Hv + h, a.beta + c0 * Hv + h, Hv, a.q + c0 * a.ldq + kh * dk, a.ldq,
                   a.k + c0 * a.ldk + kh * dk, a.ldk, a.v + c0 * a.ldv + h * dv, a.ldv, S0);
        };
        // Forward sweep: the state entering every chunk.
        if (a.state) std::copy_n(a.state + h * dk * dv, dk * dv, S);
        else std::fill_n(S, dk * dv, F(0));
        for (int64_t ci = 0; ci < nch; ++ci) {
          const int64_t c0 = ci * C, n = std::min(C, T - c0);
          std::copy_n(S, dk * dv, states + ci * dk * dv);
          build(works[size_t(ci)], c0, n, S);
          if (ci < nch - 1) works[size_t(ci)].advance(S);
        }
        // Backward sweep, chunks in reverse.
        if (d.dstate_final) std::copy_n(d.dstate_final + h * dk * dv, dk * dv, dS);
        else std::fill_n(dS, dk * dv, F(0));
        for (int64_t ci = nch - 1; ci >= 0; --ci) {
          const int64_t c0 = ci * C, n = std::min(C, T - c0);
          const F* S0 = states + ci * dk * dv;
          const ChunkWork<F>& cw = works[size_t(ci)];
          gdn_detail::copy_rows(n, dv, d.dout + c0 * d.lddo + h * dv, d.lddo, dOl);
          const F* const Kc = cw.Kq; const F* const Qc = cw.Qq; const F* const Vc = cw.Vq; const F* const dO = dOl;
          const int64_t ldk = dk, ldq = dk, ldv = dv, lddo = dv;
          const F* gam = cw.gam; const F* eg = cw.eg; const F* bet = cw.bet;
          const F gn = gam[n - 1], egn = eg[n - 1];
          std::fill_n(dgam, n, F(0));

          // R1: dVn = Pᵀ dO + K̃ dS1
          tile_gemm<F>(n, dv, n, {cw.P, 1, C}, dO, lddo, dVn, dv, F(0), F(1), nullptr, Tri::UpperA);
          tile_gemm<F>(n, dv, dk, {cw.Kt, dk, 1}, dS, dv, dVn, dv, F(1));
          // dO S0ᵀ and Vn dS1ᵀ (rows [dk]) feed R4, R5 and R13; dO Vnᵀ feeds R3.
          gdn_detail::transpose(dk, dv, S0, dv, S0T, dk);
          gdn_detail::transpose(dk, dv, dS, dv, dST, dk);
          gdn_detail::transpose(n, dv, cw.Vn, dv, VnT, C);
          tile_gemm<F>(n, dk, dv, {dO, lddo, 1}, S0T, dk, SdO, dk, F(0));
          tile_gemm<F>(n, dk, dv, {cw.Vn, dv, 1}, dST, dk, dSVn, dk, F(0));
          tile_gemm<F>(n, n, dv, {dO, lddo, 1}, VnT, C, DV, C, F(0), F(1), nullptr, Tri::LowerC);
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
            const F* q = Qc + r * ldq; const F* k = Kc + r * ldk;
            const F* sdo = &SdO[r * dk]; const F* dsv = &dSVn[r * dk];
            const F e = std::exp(gn - gam[r]);
            F qs = 0, kh2 = 0;
            // Vector reductions (a fixed order, so results are reproducible): a serial sum would chain one add
            // latency per element.
#pragma omp simd reduction(+ : qs, kh2)
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
          tile_gemm<F>(n, dk, n, {dP, C, 1}, Kc, ldk, dQ, dk, F(1), F(1), nullptr, Tri::LowerA);
          tile_gemm<F>(n, dk, n, {dP, 1, C}, Qc, ldq, dK, dk, F(1), F(1), nullptr, Tri::UpperA);
          {  // e^{γn} ⟨S0, dS1⟩
            F s = 0;
#pragma omp simd reduction(+ : s)
            for (int64_t i = 0; i < dk * dv; ++i) s += S0[i] * dS[i];
            dgam[n - 1] += egn * s;
          }
          // R2: dS0 = e^{γn} dS1 + Q̃ᵀ dO − Wᵀ dVn, in place: dS1 has no reader after this point (the products'
          // beta applies the decay, so no separate pass over the state).
          tile_gemm<F>(dk, dv, n, {Qt, 1, dk}, dO, lddo, dS, dv, egn);
          tile_gemm<F>(dk, dv, n, {cw.W, 1, dk}, dVn, dv, dS, dv, F(1), F(-1));
          // R6, R7: Y = Tmᵀ dW with dW = −dVn S0ᵀ; X = Tmᵀ dVn (Tm = (I + A)⁻¹ from the rebuild, so both
          // solves are products with its upper-triangular transpose).
          tile_gemm<F>(n, dk, dv, {dVn, dv, 1}, S0T, dk, dW, dk, F(0), F(-1));
          tile_gemm<F>(n, dv, n, {cw.Ti, 1, C}, dVn, dv, X, dv, F(0), F(1), nullptr, Tri::UpperA);
          tile_gemm<F>(n, dk, n, {cw.Ti, 1, C}, dW, dk, Y, dk, F(0), F(1), nullptr, Tri::UpperA);
          // R8, R9 and the W term of R13.
          for (int64_t r = 0; r < n; ++r) {
            const F* x = &X[r * dv]; const F* y = &Y[r * dk];
            const F* v = Vc + r * ldv; const F* k = Kc + r * ldk;
            F* dvo = d.dv + (c0 + r) * d.lddv + h * dv;
            F xv = 0, yk = 0;
#pragma omp simd reduction(+ : xv)
            for (int64_t j = 0; j < dv; ++j) { dvo[j] = bet[r] * x[j]; xv += x[j] * v[j]; }
#pragma omp simd reduction(+ : yk)
            for (int64_t i = 0; i < dk; ++i) yk += y[i] * k[i];
            d.dbeta[(c0 + r) * Hv + h] = xv + eg[r] * yk;
            dgam[r] += bet[r] * eg[r] * yk;
            const F s = bet[r] * eg[r];
            F* dkr = &dK[r * dk];
            for (int64_t i = 0; i < dk; ++i) dkr[i] += s * y[i];
          }
          // R11 via dA = −(X Uᵀ + Y Wᵀ) (strictly lower used), then R12 and the A term of R13. The two key
          // terms of R12 are one product with the symmetric M = B + Bᵀ, B_rc = β_r dA_rc E_rc (c < r).
          gdn_detail::transpose(n, dv, cw.U, dv, UT, C);
          gdn_detail::transpose(n, dk, cw.W, dk, WT, C);
          tile_gemm<F>(n, n, dv, {X, dv, 1}, UT, C, dA, C, F(0), F(-1), nullptr, Tri::LowerC);
          tile_gemm<F>(n, n, dk, {Y, dk, 1}, WT, C, dA, C, F(1), F(-1), nullptr, Tri::LowerC);
          F* M = DV;
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
          tile_gemm<F>(n, dk, n, {M, C, 1}, Kc, ldk, dK, dk, F(1));
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
        }
        if (d.dstate0) std::copy_n(dS, dk * dv, d.dstate0 + h * dk * dv);
      }
    }
  }
}

template void gdn_chunk_backward<float>(const GdnArgs<float>&, const GdnGradArgs<float>&, int64_t);
template void gdn_chunk_backward<double>(const GdnArgs<double>&, const GdnGradArgs<double>&, int64_t);

}  // namespace hyb
