#include "kernels/short_conv_backward.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace hyb {

template <class F>
void short_conv_silu_backward(const F* x, int64_t T, int64_t C, const F* w, int64_t K, const F* dout, F* dx,
                              F* dw) {
  const int64_t S = K - 1;
  // dc' = dout ⊙ silu'(c'), with c' recomputed.
  std::vector<F> dc(size_t(T * C));
#pragma omp parallel for schedule(static) if (T * C > 32768)
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < C; ++c) {
      F acc = 0;
      for (int64_t i = 0; i < K; ++i) {
        const int64_t s = t - S + i;
        if (s >= 0) acc += w[c * K + i] * x[s * C + c];
      }
      const F sg = F(1) / (F(1) + std::exp(-acc));
      dc[t * C + c] = dout[t * C + c] * sg * (F(1) + acc * (F(1) - sg));
    }
  // dx_s = Σ_i w_i dc'_{s+S−i} (terms past the end dropped).
#pragma omp parallel for schedule(static) if (T * C > 32768)
  for (int64_t s = 0; s < T; ++s)
    for (int64_t c = 0; c < C; ++c) {
      F acc = 0;
      for (int64_t i = 0; i < K; ++i) {
        const int64_t t = s + S - i;
        if (t < T) acc += w[c * K + i] * dc[t * C + c];
      }
      dx[s * C + c] = acc;
    }
  // dw_i = Σ_t dc'_t x_{t−S+i}; channels are independent, so split them across threads.
#pragma omp parallel for schedule(static) if (T * C > 32768)
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < K; ++i) {
      F acc = 0;
      for (int64_t t = std::max<int64_t>(0, S - i); t < T; ++t) acc += dc[t * C + c] * x[(t - S + i) * C + c];
      dw[c * K + i] += acc;
    }
}

template void short_conv_silu_backward<float>(const float*, int64_t, int64_t, const float*, int64_t, const float*,
                                              float*, float*);
template void short_conv_silu_backward<double>(const double*, int64_t, int64_t, const double*, int64_t,
                                               const double*, double*, double*);

}  // namespace hyb
