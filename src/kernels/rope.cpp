#include "kernels/rope.h"

#include <cmath>
#include <vector>

#include "core/parallel.h"

namespace hyb {

std::vector<float> rope_inv_freq(int64_t hd, double theta) {
  std::vector<float> inv(size_t(hd / 2));
  for (int64_t i = 0; i < hd / 2; ++i) inv[i] = 1.f / std::pow(float(theta), float(2 * i) / float(hd));
  return inv;
}

void rope_apply(float* x, int64_t T, int64_t heads, int64_t hd, int64_t ld, int64_t pos0, double theta) {
  const int64_t half = hd / 2;
  const std::vector<float> inv = rope_inv_freq(hd, theta);
  parallel_for(T, T > 8, [&](int64_t t) {
    const float p = float(pos0 + t);
    std::vector<float> c(half), s(half);
    for (int64_t i = 0; i < half; ++i) {
      const float a = p * inv[i];
      c[i] = std::cos(a);
      s[i] = std::sin(a);
    }
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + t * ld + h * hd;
      for (int64_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * c[i] - b * s[i];
        v[i + half] = b * c[i] + a * s[i];
      }
    }
  });
}

}  // namespace hyb
