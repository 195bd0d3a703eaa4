#include "kernels/attention_train.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/blas.h"
#include "kernels/vec_math.h"

namespace hyb {

namespace {
// Query rows per block: 128 × T scores per thread stay in L2, and causal blocks skip the keys past the block.
constexpr int64_t kRowBlock = 128;
}  // namespace

// Parallel over (sequence, head) pairs; OpenBLAS runs single-threaded inside the region (it checks
// omp_in_parallel), so the GEMMs here are per-thread.
void attention_train_forward(const AttentionTrainArgs& a, float* out, int64_t ldo, float* lse) {
  const int64_t T = a.T, hd = a.hd, group = a.H / a.Hkv;
#pragma omp parallel
  {
    std::vector<float> S(size_t(kRowBlock * T));
#pragma omp for collapse(2) schedule(dynamic, 1)
    for (int64_t b = 0; b < a.B; ++b)
      for (int64_t h = 0; h < a.H; ++h) {
        const int64_t g = h / group;
        const float* Q = a.q + b * T * a.ldq + h * hd;
        const float* K = a.k + b * T * a.ldkv + g * hd;
        const float* V = a.v + b * T * a.ldkv + g * hd;
        float* O = out + b * T * ldo + h * hd;
        float* L = lse + (b * a.H + h) * T;
        for (int64_t r0 = 0; r0 < T; r0 += kRowBlock) {
          const int64_t n = std::min(kRowBlock, T - r0), nk = r0 + n;
          gemm<float>(false, true, n, nk, hd, 1.f, Q + r0 * a.ldq, a.ldq, K, a.ldkv, 0.f, S.data(), nk);
          for (int64_t i = 0; i < n; ++i) {
            float* s = S.data() + i * nk;
            const int64_t len = r0 + i + 1;  // query r0+i sees keys 0 .. r0+i
            const float m = vec::max_of(s, len) * a.scale;
            const double z = vec::exp_affine_sum(s, len, a.scale, m);
            const float inv = float(1.0 / z);
            for (int64_t j = 0; j < len; ++j) s[j] *= inv;
            std::fill(s + len, s + nk, 0.f);
            L[r0 + i] = m + float(std::log(z));
          }
          gemm<float>(false, false, n, hd, nk, 1.f, S.data(), nk, V, a.ldkv, 0.f, O + r0 * ldo, ldo);
        }
      }
  }
}

// With P = softmax(scale·Q Kᵀ) and dP = dO Vᵀ: dS = P ⊙ (dP − rowsum(dO ⊙ O)); dQ = scale·dS K,
// dK = scale·dSᵀ Q, dV = Pᵀ dO. One task owns a kv head of one sequence, so its dK/dV need no atomics.
void attention_train_backward(const AttentionTrainArgs& a, const float* out, int64_t ldo, const float* lse,
                              const float* dout, int64_t lddo, float* dq, int64_t lddq, float* dk, float* dv,
                              int64_t lddkv) {
  const int64_t T = a.T, hd = a.hd, group = a.H / a.Hkv;
#pragma omp parallel
  {
    std::vector<float> P(size_t(kRowBlock * T)), dP(size_t(kRowBlock * T));
#pragma omp for collapse(2) schedule(dynamic, 1)
    for (int64_t b = 0; b < a.B; ++b)
      for (int64_t g = 0; g < a.Hkv; ++g) {
        const float* K = a.k + b * T * a.ldkv + g * hd;
        const float* V = a.v + b * T * a.ldkv + g * hd;
        float* dK = dk + b * T * lddkv + g * hd;
        float* dV = dv + b * T * lddkv + g * hd;
        for (int64_t t = 0; t < T; ++t) {
          std::fill_n(dK + t * lddkv, hd, 0.f);
          std::fill_n(dV + t * lddkv, hd, 0.f);
        }
        for (int64_t h = g * group; h < (g + 1) * group; ++h) {
          const float* Q = a.q + b * T * a.ldq + h * hd;
          const float* O = out + b * T * ldo + h * hd;
          const float* dO = dout + b * T * lddo + h * hd;
          float* dQ = dq + b * T * lddq + h * hd;
          const float* L = lse + (b * a.H + h) * T;
          for (int64_t r0 = 0; r0 < T; r0 += kRowBlock) {
            const int64_t n = std::min(kRowBlock, T - r0), nk = r0 + n;
            gemm<float>(false, true, n, nk, hd, 1.f, Q + r0 * a.ldq, a.ldq, K, a.ldkv, 0.f, P.data(), nk);
            gemm<float>(false, true, n, nk, hd, 1.f, dO + r0 * lddo, lddo, V, a.ldkv, 0.f, dP.data(), nk);
            for (int64_t i = 0; i < n; ++i) {
              float* p = P.data() + i * nk;
              float* ds = dP.data() + i * nk;
              const int64_t len = r0 + i + 1;
              const float D = vec::dot(dO + (r0 + i) * lddo, O + (r0 + i) * ldo, hd);
              const float l = L[r0 + i];
              for (int64_t j = 0; j < len; ++j) {
                const float pj = vec::fast_exp(a.scale * p[j] - l);
                p[j] = pj;
                ds[j] = pj * (ds[j] - D) * a.scale;
              }
              std::fill(p + len, p + nk, 0.f);
              std::fill(ds + len, ds + nk, 0.f);
            }
            gemm<float>(false, false, n, hd, nk, 1.f, dP.data(), nk, K, a.ldkv, 0.f, dQ + r0 * lddq, lddq);
            gemm<float>(true, false, nk, hd, n, 1.f, dP.data(), nk, Q + r0 * a.ldq, a.ldq, 1.f, dK, lddkv);
            gemm<float>(true, false, nk, hd, n, 1.f, P.data(), nk, dO + r0 * lddo, lddo, 1.f, dV, lddkv);
          }
        }
      }
  }
}

}  // namespace hyb
