#include "kernels/norms_backward.h"

#include <omp.h>

#include <cmath>
#include <vector>

#include "kernels/vec_math.h"

namespace hyb {

namespace {

// Per-row inverse RMS exactly as the forward computes it (double sum, rounded to F).
template <class F>
F inv_rms(const F* x, int64_t n, double eps) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += double(x[i]) * x[i];
  return F(1.0 / std::sqrt(ss / double(n) + eps));
}
}  // namespace

// The weight gradient is a sum over rows: each thread accumulates its static share of rows into its own slot,
// and the slots are added in thread order, so the result depends on the thread count but not on timing.
template <class F>
struct RowPartials {
  RowPartials(bool on, int64_t rows, int64_t n)
      : threads(on && rows > 16 ? omp_get_max_threads() : 1), n(n), sums(on ? size_t(threads * n) : 0, F(0)) {}
  F* slot() { return sums.empty() ? nullptr : sums.data() + int64_t(omp_get_thread_num()) * n; }
  void add_to(F* dw) const {
    if (!dw) return;
    for (int t = 0; t < threads; ++t)
      for (int64_t i = 0; i < n; ++i) dw[i] += sums[size_t(t * n + i)];
  }
  int threads;
  int64_t n;
  std::vector<F> sums;
};

template <class F>
void rmsnorm_backward(const F* x, const F* w, const F* dy, F* dx, F* dw, int64_t rows, int64_t n, double eps,
                      int64_t ldx, int64_t lddy, int64_t lddx, bool accumulate) {
  if (ldx < 0) ldx = n;
  if (lddy < 0) lddy = n;
  if (lddx < 0) lddx = n;
  RowPartials<F> part(dw != nullptr, rows, n);
#pragma omp parallel num_threads(part.threads)
  {
    F* pw = part.slot();
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const F* xr = x + r * ldx;
      const F* g = dy + r * lddy;
      F* o = dx + r * lddx;
      const F inv = inv_rms(xr, n, eps);
      // dx = r (dx̂ − x̂ · mean(dx̂ ⊙ x̂)), dx̂ = dy ⊙ w. dw is taken before o is written: dx may alias dy.
      double dot = 0;
      for (int64_t i = 0; i < n; ++i) dot += double(g[i]) * w[i] * (xr[i] * inv);
      if (pw)
        for (int64_t i = 0; i < n; ++i) pw[i] += g[i] * (xr[i] * inv);
      const F m = F(dot / double(n));
      for (int64_t i = 0; i < n; ++i) {
        const F v = inv * (g[i] * w[i] - xr[i] * inv * m);
        o[i] = accumulate ? o[i] + v : v;
      }
    }
  }
  part.add_to(dw);
}

template <class F>
void gated_rmsnorm_backward(const F* o, const F* z, const F* w, const F* dy, F* d_o, F* dz, F* dw, int64_t rows,
                            int64_t n, double eps) {
  RowPartials<F> part(dw != nullptr, rows, n);
#pragma omp parallel num_threads(part.threads)
  {
    F* pw = part.slot();
    std::vector<F> silu(static_cast<size_t>(n));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const F* xr = o + r * n;
      const F* zr = z + r * n;
      const F* g = dy + r * n;
      const F inv = inv_rms(xr, n, eps);
      double dot = 0;
      for (int64_t i = 0; i < n; ++i) {
        const F sg = F(1) / (F(1) + vec::exp_of(-zr[i]));
        const F xh = xr[i] * inv;
        silu[size_t(i)] = zr[i] * sg;
        dot += double(g[i] * w[i] * zr[i] * sg) * xh;
        if (pw) pw[i] += g[i] * xh * silu[size_t(i)];
        // silu'(z) = σ(z)(1 + z(1 − σ(z)))
        dz[r * n + i] = g[i] * xh * w[i] * sg * (F(1) + zr[i] * (F(1) - sg));
      }
      const F m = F(dot / double(n));
      for (int64_t i = 0; i < n; ++i) d_o[r * n + i] = inv * (g[i] * w[i] * silu[size_t(i)] - xr[i] * inv * m);
    }
  }
  part.add_to(dw);
}

template <class F>
void l2norm_scale_backward(const F* x, const F* dy, F* dx, int64_t T, int64_t heads, int64_t n, int64_t ldx,
                           int64_t lddy, int64_t lddx, double eps, double scale) {
#pragma omp parallel for schedule(static) if (T * heads > 64)
  for (int64_t r = 0; r < T * heads; ++r) {
    const int64_t t = r / heads, h = r % heads;
    const F* xr = x + t * ldx + h * n;
    const F* g = dy + t * lddy + h * n;
    F* o = dx + t * lddx + h * n;
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(xr[i]) * xr[i];
    const double rho = std::sqrt(ss + eps);
    // y = x/ρ: dx = (dy − (dy·y) y) / ρ, with dy already multiplied by the scale.
    double dot = 0;
    for (int64_t i = 0; i < n; ++i) dot += double(g[i]) * xr[i];
    const F a = F(scale / rho), b = F(scale * dot / (rho * rho * rho));
    for (int64_t i = 0; i < n; ++i) o[i] = a * g[i] - b * xr[i];
  }
}

#define HYB_INST(F)                                                                                               \
  template void rmsnorm_backward<F>(const F*, const F*, const F*, F*, F*, int64_t, int64_t, double, int64_t,       \
                                    int64_t, int64_t, bool);                                                       \
  template void gated_rmsnorm_backward<F>(const F*, const F*, const F*, const F*, F*, F*, F*, int64_t, int64_t,    \
                                          double);                                                                 \
  template void l2norm_scale_backward<F>(const F*, const F*, F*, int64_t, int64_t, int64_t, int64_t, int64_t,      \
                                         int64_t, double, double);
HYB_INST(float)
HYB_INST(double)
#undef HYB_INST

}  // namespace hyb
