#include "kernels/short_conv_backward.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/vec_math.h"

namespace hyb {

// Every loop runs over channels innermost (unit stride, vectorised); the taps are transposed to [K, C] for that.
// The weight gradient is summed per thread over its static share of time steps, then the partials are added in
// thread order (deterministic for a given thread count).
template <class F>
void short_conv_silu_backward(const F* x, int64_t T, int64_t C, const F* w, int64_t K, const F* dout, F* dx,
                              F* dw) {
  const int64_t S = K - 1;
  std::vector<F> wt(size_t(K * C));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < K; ++i) wt[size_t(i * C + c)] = w[c * K + i];
  std::vector<F> dc(size_t(T * C));
  const int threads = T * C > 32768 ? omp_get_max_threads() : 1;
  std::vector<F> part(size_t(threads * K * C), F(0));
#pragma omp parallel num_threads(threads)
  {
    F* pw = part.data() + int64_t(omp_get_thread_num()) * K * C;
    std::vector<F> acc(static_cast<size_t>(C));
    // dc' = dout ⊙ silu'(c'), with c' recomputed; then dw_i += dc'_t x_{t−S+i}.
#pragma omp for schedule(static)
    for (int64_t t = 0; t < T; ++t) {
      std::fill(acc.begin(), acc.end(), F(0));
      for (int64_t i = 0; i < K; ++i) {
        const int64_t s = t - S + i;
        if (s < 0) continue;
        const F* xs = x + s * C;
        const F* wi = wt.data() + i * C;
        for (int64_t c = 0; c < C; ++c) acc[size_t(c)] += wi[c] * xs[c];
      }
      F* d = dc.data() + t * C;
      const F* g = dout + t * C;
      for (int64_t c = 0; c < C; ++c) {
        const F a = acc[size_t(c)], sg = F(1) / (F(1) + vec::exp_of(-a));
        d[c] = g[c] * sg * (F(1) + a * (F(1) - sg));
      }
      for (int64_t i = 0; i < K; ++i) {
        const int64_t s = t - S + i;
        if (s < 0) continue;
        const F* xs = x + s * C;
        F* pi = pw + i * C;
        for (int64_t c = 0; c < C; ++c) pi[c] += d[c] * xs[c];
      }
    }
    // dx_s = Σ_i w_i dc'_{s+S−i} (terms past the end dropped).
#pragma omp for schedule(static)
    for (int64_t s = 0; s < T; ++s) {
      F* o = dx + s * C;
      std::fill(o, o + C, F(0));
      for (int64_t i = 0; i < K; ++i) {
        const int64_t t = s + S - i;
        if (t >= T) continue;
        const F* d = dc.data() + t * C;
        const F* wi = wt.data() + i * C;
        for (int64_t c = 0; c < C; ++c) o[c] += wi[c] * d[c];
      }
    }
  }
  for (int th = 0; th < threads; ++th)
    for (int64_t i = 0; i < K; ++i)
      for (int64_t c = 0; c < C; ++c) dw[c * K + i] += part[size_t((th * K + i) * C + c)];
}

template void short_conv_silu_backward<float>(const float*, int64_t, int64_t, const float*, int64_t, const float*,
                                              float*, float*);
template void short_conv_silu_backward<double>(const double*, int64_t, int64_t, const double*, int64_t,
                                               const double*, double*, double*);

}  // namespace hyb
