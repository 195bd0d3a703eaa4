// One chunk of one value head of the chunked gated delta rule (spec §5.1, tags F1..F10): everything the forward
// computes inside the chunk, in one place for the forward kernel and for the backward, which keeps every chunk's
// work for its reverse sweep. All products are tile_gemm calls on data that stays in L1/L2.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/gdn_tile.h"
#include "kernels/vec_math.h"

namespace hyb::gdn_detail {

template <class F>
inline F exp_of(F x) {
  if constexpr (std::is_same_v<F, float>) return vec::fast_exp(x);  // vectorises; ≤ 2 ulp
  else return std::exp(x);  // double: the tests' reference path, where exactness matters more than speed
}

// Per-thread scratch that survives across calls: fresh vectors on every call made glibc hand the memory back
// and fault it in again, which cost more than the arithmetic of a short sequence. Contents are garbage on entry.
template <class F>
F* thread_scratch(size_t n) {
  thread_local std::vector<F> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// dst[j, i] = src[i, j] for i < rows, j < cols, in 16 × 16 blocks (both sides' lines stay in L1 across a block).
template <class F>
inline void transpose(int64_t rows, int64_t cols, const F* src, int64_t lds, F* dst, int64_t ldd) {
  constexpr int64_t kB = 16;
  for (int64_t i0 = 0; i0 < rows; i0 += kB)
    for (int64_t j0 = 0; j0 < cols; j0 += kB)
      for (int64_t j = j0; j < std::min(cols, j0 + kB); ++j)
        for (int64_t i = i0; i < std::min(rows, i0 + kB); ++i) dst[j * ldd + i] = src[i * lds + j];
}

// dst[r, :] = src[r · ld, :] for r < n: a chunk's rows of one head, made contiguous (in the model's [T, heads, d]
// layout consecutive rows of one head are heads·d floats apart, 16 KB at 32 × 128, so every row maps to the same
// L1 set and products on them would miss).
template <class F>
inline void copy_rows(int64_t n, int64_t cols, const F* src, int64_t ld, F* dst) {
  for (int64_t r = 0; r < n; ++r) std::copy_n(src + r * ld, cols, dst + r * cols);
}

// Prefetches rows [0, n) of `cols` elements at stride ld into L2.
template <class F>
inline void prefetch_rows(const F* p, int64_t ld, int64_t n, int64_t cols) {
  constexpr int64_t kLine = 64 / int64_t(sizeof(F));
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < cols; j += kLine) __builtin_prefetch(p + r * ld + j, 0, 2);
}

// F1: γ = cumulative log-decay, e^γ and β of the chunk's n tokens (g and beta at `stride` between tokens).
template <class F>
inline void chunk_gates(int64_t n, const F* g, const F* beta, int64_t stride, F* gam, F* eg, F* bet) {
  F run = 0;
  for (int64_t r = 0; r < n; ++r) {
    run += g[r * stride];
    gam[r] = run;
    eg[r] = std::exp(run);
    bet[r] = beta[r * stride];
  }
}

// F3, F8 on the Gram products (rows at stride C, on and below the diagonal): E = e^{γ_r − γ_c} (c ≤ r),
// A = β_r E ∘ K Kᵀ (strictly lower), P ← E ∘ P; A and P zero above the diagonal up to column n.
template <class F>
inline void decay_mask(int64_t n, int64_t C, const F* gam, const F* bet, const F* KK, F* E, F* A, F* P) {
  for (int64_t r = 0; r < n; ++r) {
    F* er = &E[r * C]; F* ar = &A[r * C]; F* pr = &P[r * C]; const F* kr = &KK[r * C];
    const F gr = gam[r], br = bet[r];
#pragma omp simd
    for (int64_t c = 0; c <= r; ++c) {
      const F e = exp_of(gr - gam[c]);  // c ≤ r: exponent ≤ 0
      er[c] = e;
      ar[c] = c < r ? br * e * kr[c] : F(0);
      pr[c] *= e;
    }
    std::fill(ar + r + 1, ar + n, F(0));
    std::fill(pr + r + 1, pr + n, F(0));  // LowerA products read the diagonal blocks' upper part
  }
}

// F4-F6: Ti = (I + A)⁻¹ (A strictly lower, rows at stride C) by forward substitution, row r = e_r − Σ_{c<r} A_rc
// row c (n³/6 multiply-adds, about 1% of the chunk), so that U and W become two lower-triangular products
// instead of triangular solves. Row r, 16 columns at a time in registers (T_cj = 0 for j > c); zero above the
// diagonal up to column n. `row_done(r)` runs once row r is final.
template <class F, class RowDone>
inline void unit_lower_inverse(int64_t n, int64_t C, const F* A, F* Ti, RowDone&& row_done) {
  constexpr int64_t kW = 16;
  for (int64_t r = 0; r < n; ++r) {
    F* tr = &Ti[r * C];
    const F* ar = &A[r * C];
    for (int64_t j0 = 0; j0 < n; j0 += kW) {
      F acc[kW] = {};
      if (j0 + kW <= n) {
        for (int64_t c = j0; c < r; ++c) {
          const F x = ar[c];
          const F* tc = &Ti[c * C + j0];
#pragma omp simd
          for (int64_t j = 0; j < kW; ++j) acc[j] += x * tc[j];
        }
      } else {
        for (int64_t c = j0; c < r; ++c)
          for (int64_t j = 0; j < n - j0; ++j) acc[j] += ar[c] * Ti[c * C + j0 + j];
      }
      for (int64_t j = 0; j < std::min(kW, n - j0); ++j) tr[j0 + j] = (j0 + j == r ? F(1) : F(0)) - acc[j];
    }
    row_done(r);
  }
}

template <class F>
struct ChunkWork {
  int64_t C = 0, dk = 0, dv = 0, n = 0;
  // gam = γ (cumulative log-decay), eg = e^γ, bet = β; E = e^{γ_r − γ_c} (c ≤ r); KK = K Kᵀ; P = E ∘ Q Kᵀ (lower,
  // zero above); A = β_r E ∘ K Kᵀ (strictly lower, zero elsewhere); U = (I + A)⁻¹ diag(β) V;
  // W = (I + A)⁻¹ diag(β e^γ) K; Vn = U − W S0; Kt = diag(e^{γ_n − γ}) K ([n, dk], row-major); Ti = (I + A)⁻¹
  // (lower, unit diagonal, zero above). Kq, Qq, Vq: the chunk's k, q, v rows, contiguous (copy_rows), which the
  // backward reads again.
  F *gam, *eg, *bet, *E, *KK, *P, *A, *U, *W, *Vn, *Kt, *Ti, *Kq, *Qq, *Vq;

  static int64_t floats(int64_t C, int64_t dk, int64_t dv) {
    return 3 * C + 5 * C * C + 3 * C * dv + 4 * C * dk;
  }
  // Scratch of one build, garbage after it: Kᵀ and the inverse's two column scalings.
  static int64_t scratch_floats(int64_t C, int64_t dk, int64_t /*dv*/) { return dk * C + 2 * C * C; }

  F* scratch = nullptr;

  // Lays the arrays out in `mem`, which holds floats(C, dk, dv) elements; `scratch_` holds scratch_floats(C, dk,
  // dv) and may be shared by works that are built one after another.
  void bind(F* mem, int64_t C_, int64_t dk_, int64_t dv_, F* scratch_) {
    C = C_; dk = dk_; dv = dv_; scratch = scratch_;
    gam = mem; eg = gam + C; bet = eg + C;
    E = bet + C; KK = E + C * C; P = KK + C * C; A = P + C * C;
    U = A + C * C; Vn = U + C * dv; W = Vn + C * dv; Kt = W + C * dk; Ti = Kt + C * dk;
    Kq = Ti + C * C; Qq = Kq + C * dk; Vq = Qq + C * dk;
  }

  // One work on this thread's scratch (thread_scratch), for a sweep that builds one chunk at a time.
  void init(int64_t C_, int64_t dk_, int64_t dv_) {
    F* mem = thread_scratch<F>(size_t(floats(C_, dk_, dv_) + scratch_floats(C_, dk_, dv_)));
    bind(mem, C_, dk_, dv_, mem + floats(C_, dk_, dv_));
  }

  // Qin, Kin, Vin point at row 0 of the chunk; g and beta at its first token (stride between tokens); S0 is the
  // state entering it.
  void build(int64_t n_, const F* g, const F* beta, int64_t stride, const F* Qin, int64_t ldq_in, const F* Kin,
             int64_t ldk_in, const F* Vin, int64_t ldv_in, const F* S0) {
    n = n_;
    F* const Kx = scratch;        // Kᵀ [dk, C]
    F* const Tb = Kx + dk * C;    // Ti diag(β)
    F* const Tbe = Tb + C * C;    // Ti diag(β e^γ)
    copy_rows(n, dk, Kin, ldk_in, Kq);
    copy_rows(n, dk, Qin, ldq_in, Qq);
    copy_rows(n, dv, Vin, ldv_in, Vq);
    const F* const Kc = Kq; const F* const Qc = Qq; const F* const Vc = Vq;
    const int64_t ldk = dk, ldq = dk, ldv = dv;
    chunk_gates(n, g, beta, stride, gam, eg, bet);
    transpose(n, dk, Kc, ldk, Kx, C);
    // F2, F3, F8: the two Gram products on and below the diagonal, then the decay mask.
    tile_gemm<F>(n, n, dk, {Kc, ldk, 1}, Kx, C, KK, C, F(0), F(1), nullptr, Tri::LowerC);
    tile_gemm<F>(n, n, dk, {Qc, ldq, 1}, Kx, C, P, C, F(0), F(1), nullptr, Tri::LowerC);
    decay_mask(n, C, gam, bet, KK, E, A, P);
    unit_lower_inverse(n, C, A, Ti, [&](int64_t r) {
      const F* tr = &Ti[r * C];
      F* tb = &Tb[r * C]; F* tbe = &Tbe[r * C];
#pragma omp simd
      for (int64_t c = 0; c < n; ++c) {
        tb[c] = tr[c] * bet[c];
        tbe[c] = tr[c] * bet[c] * eg[c];
      }
    });
    tile_gemm<F>(n, dv, n, {Tb, C, 1}, Vc, ldv, U, dv, F(0), F(1), nullptr, Tri::LowerA);
    tile_gemm<F>(n, dk, n, {Tbe, C, 1}, Kc, ldk, W, dk, F(0), F(1), nullptr, Tri::LowerA);
    // F7: Vn = U − W S0.
    std::copy_n(U, n * dv, Vn);
    tile_gemm<F>(n, dv, dk, {W, dk, 1}, S0, dv, Vn, dv, F(1), F(-1));
    const F gn = gam[n - 1];  // K̃ = diag(e^{γ_n − γ}) K
    for (int64_t r = 0; r < n; ++r) {
      const F e = std::exp(gn - gam[r]);
      const F* k = Kc + r * ldk;
      F* kt = &Kt[r * dk];
      for (int64_t i = 0; i < dk; ++i) kt[i] = e * k[i];
    }
  }

  // F9: O = diag(e^γ) Q S0 + P Vn; rows of O at stride ldo.
  void output(const F* S0, F* O, int64_t ldo) const {
    tile_gemm<F>(n, dv, dk, {Qq, dk, 1}, S0, dv, O, ldo, F(0), F(1), eg);
    tile_gemm<F>(n, dv, n, {P, C, 1}, Vn, dv, O, ldo, F(1), F(1), nullptr, Tri::LowerA);
  }

  // F10: S ← e^{γ_n} S + K̃ᵀ Vn.
  void advance(F* S) const { tile_gemm<F>(dk, dv, n, {Kt, 1, dk}, Vn, dv, S, dv, eg[n - 1]); }
};

}  // namespace hyb::gdn_detail
