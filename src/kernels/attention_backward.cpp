#include "kernels/attention_backward.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace hyb {

template <class F>
void attention_causal_backward(const AttentionBackwardArgs<F>& a) {
  const int64_t group = a.H / a.Hkv, hd = a.hd;
  // One kv head per task: its dk/dv rows receive contributions from every query head of its group, so owning
  // the kv head avoids atomics.
#pragma omp parallel
  {
    std::vector<F> p(size_t(a.T));
#pragma omp for schedule(dynamic, 1)
    for (int64_t g = 0; g < a.Hkv; ++g) {
      const F* K = a.k + g * a.kv_head_stride;
      const F* V = a.v + g * a.kv_head_stride;
      F* dK = a.dk + g * a.kv_head_stride;
      F* dV = a.dv + g * a.kv_head_stride;
      std::fill(dK, dK + a.T * hd, F(0));
      std::fill(dV, dV + a.T * hd, F(0));
      for (int64_t h = g * group; h < (g + 1) * group; ++h)
        for (int64_t t = 0; t < a.T; ++t) {
          const F* q = a.q + t * a.ldq + h * hd;
          const F* o = a.out + t * a.ldo + h * hd;
          const F* dO = a.dout + t * a.lddo + h * hd;
          F* dq = a.dq + t * a.lddq + h * hd;
          const int64_t nk = t + 1;
          F m = -INFINITY;
          for (int64_t j = 0; j < nk; ++j) {
            F d = 0;
            for (int64_t i = 0; i < hd; ++i) d += q[i] * K[j * hd + i];
            p[j] = d * a.scale;
            m = std::max(m, p[j]);
          }
          F z = 0;
          for (int64_t j = 0; j < nk; ++j) z += (p[j] = std::exp(p[j] - m));
          const F iz = F(1) / z;
          // ds_j = p_j (dO·v_j − dO·o); dq = scale Σ ds_j k_j; dk_j += scale ds_j q; dv_j += p_j dO.
          F D = 0;
          for (int64_t i = 0; i < hd; ++i) D += dO[i] * o[i];
          for (int64_t i = 0; i < hd; ++i) dq[i] = 0;
          for (int64_t j = 0; j < nk; ++j) {
            const F pj = p[j] * iz;
            const F* vj = V + j * hd;
            F dp = 0;
            for (int64_t i = 0; i < hd; ++i) dp += dO[i] * vj[i];
            const F ds = pj * (dp - D) * a.scale;
            const F* kj = K + j * hd;
            F* dkj = dK + j * hd;
            F* dvj = dV + j * hd;
            for (int64_t i = 0; i < hd; ++i) {
              dq[i] += ds * kj[i];
              dkj[i] += ds * q[i];
              dvj[i] += pj * dO[i];
            }
          }
        }
    }
  }
}

template void attention_causal_backward<float>(const AttentionBackwardArgs<float>&);
template void attention_causal_backward<double>(const AttentionBackwardArgs<double>&);

}  // namespace hyb
