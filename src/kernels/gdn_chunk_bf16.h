// The chunk of kernels/gdn_chunk.h with every product in BF16 (kernels/gdn_tile_bf16.h): the same steps F1..F10,
// with the products' operands rounded to bf16 as they are made (the q/k/v rows while they are read from the
// model's layout, so the rounding replaces the f32 copy), f32 accumulation, and f32 for everything that is not a
// product operand: the gates, the decay mask, (I + A)⁻¹, the results of the products and the state S. Forward
// only (inference in --gdn bf16); callers check bf16k::dpbf16_supported() first.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/gdn_chunk.h"
#include "kernels/gdn_tile_bf16.h"

namespace hyb::gdn_detail {

struct ChunkWorkBf16 {
  int64_t C = 0, dk = 0, dv = 0, n = 0, Cp = 0, dkp = 0;  // Cp, dkp: C and dk rounded up to whole pairs
  // f32, as ChunkWork: gam, eg, bet, E, KK, P, A, Ti, Vn, W (U is computed into Vn); Tr = two rows of the
  // inverse's column scalings, then e^{γ_n − γ}.
  float *gam, *eg, *bet, *E, *KK, *P, *A, *Ti, *Vn, *W, *Tr;
  // bf16 rows (k contiguous): Kb, Qb [n, dkp]; Tb = Ti diag(β), Tbe = Ti diag(β e^γ), Pb [n, Cp]; Wb [n, dkp];
  // Ktb = K̃ [n, dk] and its transpose KtT [dk, Cp].
  uint16_t *Kb, *Qb, *Tb, *Tbe, *Pb, *Wb, *Ktb, *KtT;
  // k-pair words: KbT = pairs of Kᵀ [dkp/2, C]; Kp, Vp = pairs of K and V rows [Cp/2, d]; S0p = pairs of S0
  // [dkp/2, dv]; Vnp = pairs of Vn [Cp/2, dv].
  uint32_t *KbT, *Kp, *Vp, *S0p, *Vnp;

  // Takes this thread's scratch (kernels/gdn_chunk.h thread_scratch, one buffer per element type).
  void init(int64_t C_, int64_t dk_, int64_t dv_) {
    C = C_; dk = dk_; dv = dv_; Cp = C + C % 2; dkp = dk + dk % 2;
    float* f = thread_scratch<float>(size_t(3 * C + 5 * C * C + C * dv + C * dk + 2 * C));
    gam = f; eg = gam + C; bet = eg + C; E = bet + C; KK = E + C * C; P = KK + C * C; A = P + C * C;
    Ti = A + C * C; Vn = Ti + C * C; W = Vn + C * dv; Tr = W + C * dk;
    uint16_t* h = thread_scratch<uint16_t>(size_t(4 * C * dkp + 3 * C * Cp + dk * Cp));
    Kb = h; Qb = Kb + C * dkp; Wb = Qb + C * dkp; Ktb = Wb + C * dkp; Tb = Ktb + C * dkp; Tbe = Tb + C * Cp;
    Pb = Tbe + C * Cp; KtT = Pb + C * Cp;
    uint32_t* w = thread_scratch<uint32_t>(size_t(dkp / 2 * C + Cp / 2 * (dk + 2 * dv) + dkp / 2 * dv));
    KbT = w; Kp = KbT + dkp / 2 * C; Vp = Kp + Cp / 2 * dk; Vnp = Vp + Cp / 2 * dv; S0p = Vnp + Cp / 2 * dv;
  }

  // As ChunkWork::build; output() and advance() must follow with the same S0.
  void build(int64_t n_, const float* g, const float* beta, int64_t stride, const float* Qin, int64_t ldq,
             const float* Kin, int64_t ldk, const float* Vin, int64_t ldv, const float* S0) {
    n = n_;
    chunk_gates(n, g, beta, stride, gam, eg, bet);
    round_rows_padded_bf16(n, dk, dkp, Kin, ldk, Kb, dkp);
    round_rows_padded_bf16(n, dk, dkp, Qin, ldq, Qb, dkp);
    transpose_words(n, dkp / 2, Kb, dkp, KbT, C);
    // F2, F3, F8: the Gram products on and below the diagonal, then the decay mask.
    tile_gemm_bf16(n, n, dk, Kb, dkp, KbT, C, KK, C, 0.f, 1.f, nullptr, Tri::LowerC);
    tile_gemm_bf16(n, n, dk, Qb, dkp, KbT, C, P, C, 0.f, 1.f, nullptr, Tri::LowerC);
    decay_mask(n, C, gam, bet, KK, E, A, P);
    // F4-F6 (the inverse in f32), U and W as lower-triangular products.
    unit_lower_inverse(n, C, A, Ti, [&](int64_t r) {
      const float* tr = &Ti[r * C];
      float* tb = Tr; float* tbe = Tr + C;
#pragma omp simd
      for (int64_t c = 0; c < n; ++c) {
        tb[c] = tr[c] * bet[c];
        tbe[c] = tr[c] * bet[c] * eg[c];
      }
      round_rows_padded_bf16(1, n, Cp, tb, C, Tb + r * Cp, Cp);
      round_rows_padded_bf16(1, n, Cp, tbe, C, Tbe + r * Cp, Cp);
    });
    pack_pairs_bf16(n, dv, Vin, ldv, Vp, dv);
    pack_pairs_bf16(n, dk, Kin, ldk, Kp, dk);
    tile_gemm_bf16(n, dv, n, Tb, Cp, Vp, dv, Vn, dv, 0.f, 1.f, nullptr, Tri::LowerA);  // U
    tile_gemm_bf16(n, dk, n, Tbe, Cp, Kp, dk, W, dk, 0.f, 1.f, nullptr, Tri::LowerA);
    // F7: Vn = U − W S0.
    round_rows_padded_bf16(n, dk, dkp, W, dk, Wb, dkp);
    pack_pairs_bf16(dk, dv, S0, dv, S0p, dv);
    tile_gemm_bf16(n, dv, dk, Wb, dkp, S0p, dv, Vn, dv, 1.f, -1.f);
    pack_pairs_bf16(n, dv, Vn, dv, Vnp, dv);
    round_rows_padded_bf16(n, n, Cp, P, C, Pb, Cp);
    // K̃ = diag(e^{γ_n − γ}) K rounded from the f32 rows, then transposed (pairs along the tokens).
    const float gn = gam[n - 1];
    for (int64_t r = 0; r < n; ++r) Tr[r] = std::exp(gn - gam[r]);
    round_rows_padded_bf16(n, dk, dk, Kin, ldk, Ktb, dk, Tr);
    transpose_words(n, dk, Ktb, dk, KtT, Cp);
    if (n % 2)
      for (int64_t i = 0; i < dk; ++i) KtT[i * Cp + n] = 0;
  }

  // F9: O = diag(e^γ) Q S0 + P Vn (S0 as given to build, whose pairs it made).
  void output(const float* /*S0*/, float* O, int64_t ldo) const {
    tile_gemm_bf16(n, dv, dk, Qb, dkp, S0p, dv, O, ldo, 0.f, 1.f, eg);
    tile_gemm_bf16(n, dv, n, Pb, Cp, Vnp, dv, O, ldo, 1.f, 1.f, nullptr, Tri::LowerA);
  }

  // F10: S ← e^{γ_n} S + K̃ᵀ Vn.
  void advance(float* S) const { tile_gemm_bf16(dk, dv, n, KtT, Cp, Vnp, dv, S, dv, eg[n - 1]); }
};

}  // namespace hyb::gdn_detail
