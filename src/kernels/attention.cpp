#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace hyb {

namespace {
constexpr int64_t kKeyTile = 128;
}

void attention_causal(const AttentionArgs& a) {
  const int64_t group = a.H / a.Hkv;
#pragma omp parallel
  {
    std::vector<float> s(kKeyTile), acc(a.hd);
#pragma omp for collapse(2) schedule(dynamic, 4)
    for (int64_t h = 0; h < a.H; ++h) {
      for (int64_t t = 0; t < a.T; ++t) {
        const float* q = a.q + t * a.ldq + h * a.hd;
        const float* K = a.k + (h / group) * a.kv_head_stride;
        const float* V = a.v + (h / group) * a.kv_head_stride;
        const int64_t nk = a.past + t + 1;
        float m = -std::numeric_limits<float>::infinity(), l = 0.f;
        std::fill(acc.begin(), acc.end(), 0.f);
        for (int64_t j0 = 0; j0 < nk; j0 += kKeyTile) {
          const int64_t nj = std::min(kKeyTile, nk - j0);
          float mt = m;
          for (int64_t j = 0; j < nj; ++j) {
            const float* kr = K + (j0 + j) * a.hd;
            float d = 0.f;
            for (int64_t i = 0; i < a.hd; ++i) d += q[i] * kr[i];
            s[j] = d * a.scale;
            mt = std::max(mt, s[j]);
          }
          const float corr = std::exp(m - mt);  // exp(-inf) = 0 on the first tile
          l *= corr;
          for (int64_t i = 0; i < a.hd; ++i) acc[i] *= corr;
          for (int64_t j = 0; j < nj; ++j) {
            const float p = std::exp(s[j] - mt);
            l += p;
            const float* vr = V + (j0 + j) * a.hd;
            for (int64_t i = 0; i < a.hd; ++i) acc[i] += p * vr[i];
          }
          m = mt;
        }
        float* o = a.out + t * a.ldo + h * a.hd;
        const float inv = 1.f / l;
        for (int64_t i = 0; i < a.hd; ++i) o[i] = acc[i] * inv;
      }
    }
  }
}

void attention_causal_reference(const AttentionArgs& a) {
  const int64_t group = a.H / a.Hkv;
  for (int64_t h = 0; h < a.H; ++h)
    for (int64_t t = 0; t < a.T; ++t) {
      const float* q = a.q + t * a.ldq + h * a.hd;
      const float* K = a.k + (h / group) * a.kv_head_stride;
      const float* V = a.v + (h / group) * a.kv_head_stride;
      const int64_t nk = a.past + t + 1;
      std::vector<double> s(nk);
      double mx = -1e300;
      for (int64_t j = 0; j < nk; ++j) {
        double d = 0;
        for (int64_t i = 0; i < a.hd; ++i) d += double(q[i]) * K[j * a.hd + i];
        s[j] = d * a.scale;
        mx = std::max(mx, s[j]);
      }
      double z = 0;
      for (auto& x : s) z += (x = std::exp(x - mx));
      float* o = a.out + t * a.ldo + h * a.hd;
      for (int64_t i = 0; i < a.hd; ++i) {
        double acc = 0;
        for (int64_t j = 0; j < nk; ++j) acc += s[j] * V[j * a.hd + i];
        o[i] = float(acc / z);
      }
    }
}

}  // namespace hyb
