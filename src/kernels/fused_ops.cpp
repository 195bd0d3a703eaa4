#include "kernels/fused_ops.h"

#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "kernels/vec_math.h"

namespace hyb {

void swiglu_into(const float* gate, const float* up, float* h, int64_t n) {
  parallel_for(n, n > 65536, [=](int64_t i) { h[i] = gate[i] / (1.f + vec::fast_exp(-gate[i])) * up[i]; });
}

void swiglu_rows(const float* gu, int64_t rows, int64_t I, float* h) {
  parallel_for(rows, rows > 1, [=](int64_t r) {
    const float* g = gu + r * 2 * I;
    const float* u = g + I;
    float* o = h + r * I;
    for (int64_t j = 0; j < I; ++j) o[j] = g[j] / (1.f + vec::fast_exp(-g[j])) * u[j];
  });
}

void swiglu_rows_backward(const float* gu, const float* dh, int64_t rows, int64_t I, float* dgu) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = gu + r * 2 * I;
    const float* u = g + I;
    const float* d = dh + r * I;
    float* dg = dgu + r * 2 * I;
    float* du = dg + I;
    for (int64_t j = 0; j < I; ++j) {
      const float x = g[j], sg = 1.f / (1.f + vec::fast_exp(-x));
      du[j] = d[j] * x * sg;
      dg[j] = d[j] * u[j] * sg * (1.f + x * (1.f - sg));  // silu'(x) = σ(x)(1 + x(1 − σ(x)))
    }
  }
}

}  // namespace hyb
