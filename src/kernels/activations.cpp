#include "kernels/activations.h"

#include "core/parallel.h"

namespace hyb {

void swiglu_inplace(float* gate, const float* up, int64_t n) {
  parallel_for(n, n > 65536, [=](int64_t i) { gate[i] = siluf(gate[i]) * up[i]; });
}

void gdn_gates(float* b, float* a, int64_t T, int64_t Hv, const float* A_log, const float* dt_bias, bool neg_eigval) {
  const float mul = neg_eigval ? 2.f : 1.f;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < Hv; ++h) {
      b[t * Hv + h] = mul * sigmoidf(b[t * Hv + h]);
      a[t * Hv + h] = -std::exp(A_log[h]) * softplusf(a[t * Hv + h] + dt_bias[h]);
    }
}

}  // namespace hyb
