#include "kernels/norms.h"

#include <cmath>

#include "core/parallel.h"

namespace hyb {

void rmsnorm(const float* x, const float* w, float* y, int64_t rows, int64_t n, float eps, int64_t ldx, int64_t ldy) {
  if (ldx < 0) ldx = n;
  if (ldy < 0) ldy = n;
  parallel_for(rows, rows > 4, [=](int64_t r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(xr[i]) * xr[i];
    const float inv = float(1.0 / std::sqrt(ss / double(n) + double(eps)));
    for (int64_t i = 0; i < n; ++i) yr[i] = w[i] * (xr[i] * inv);
  });
}

void gated_rmsnorm(const float* o, const float* z, const float* w, float* y, int64_t rows, int64_t n, float eps) {
  parallel_for(rows, rows > 4, [=](int64_t r) {
    const float* orow = o + r * n;
    const float* zr = z + r * n;
    float* yr = y + r * n;
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(orow[i]) * orow[i];
    const float inv = float(1.0 / std::sqrt(ss / double(n) + double(eps)));
    for (int64_t i = 0; i < n; ++i) {
      const float zi = zr[i];
      yr[i] = w[i] * (orow[i] * inv) * (zi / (1.f + std::exp(-zi)));
    }
  });
}

void l2norm_scale(float* x, int64_t T, int64_t heads, int64_t n, int64_t ld, float eps, float scale) {
  parallel_for(T * heads, T * heads > 16, [=](int64_t r) {
    float* xr = x + (r / heads) * ld + (r % heads) * n;
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(xr[i]) * xr[i];
    const float f = float(double(scale) / std::sqrt(ss + double(eps)));
    for (int64_t i = 0; i < n; ++i) xr[i] *= f;
  });
}

}  // namespace hyb
