#include "kernels/rope_backward.h"

#include <cmath>
#include <vector>

#include "kernels/rope.h"

namespace hyb {

template <class F>
void rope_backward(F* dx, int64_t T, int64_t heads, int64_t hd, int64_t ld, int64_t pos0, double theta) {
  const int64_t half = hd / 2;
  const std::vector<float> inv = rope_inv_freq(hd, theta);
#pragma omp parallel for schedule(static) if (T > 8)
  for (int64_t t = 0; t < T; ++t) {
    const F p = F(pos0 + t);
    std::vector<F> c(half), s(half);
    for (int64_t i = 0; i < half; ++i) {
      const F a = p * F(inv[i]);
      c[i] = std::cos(a);
      s[i] = std::sin(a);
    }
    for (int64_t h = 0; h < heads; ++h) {
      F* v = dx + t * ld + h * hd;
      for (int64_t i = 0; i < half; ++i) {
        const F a = v[i], b = v[i + half];
        v[i] = a * c[i] + b * s[i];
        v[i + half] = b * c[i] - a * s[i];
      }
    }
  }
}

template void rope_backward<float>(float*, int64_t, int64_t, int64_t, int64_t, int64_t, double);
template void rope_backward<double>(double*, int64_t, int64_t, int64_t, int64_t, int64_t, double);

}  // namespace hyb
