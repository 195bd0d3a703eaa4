#include "kernels/activations_backward.h"

#include <cmath>

#include "kernels/vec_math.h"

namespace hyb {

template <class F>
void swiglu_backward(const F* gate, const F* up, const F* dh, F* dgate, F* dup, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const F x = gate[i], sg = F(1) / (F(1) + vec::exp_of(-x)), g = dh[i];
    dup[i] = g * x * sg;
    dgate[i] = g * up[i] * sg * (F(1) + x * (F(1) - sg));
  }
}

template <class F>
void gdn_gates_backward(const F* b, const F* a, int64_t T, int64_t Hv, const F* A_log, const F* dt_bias,
                        bool neg_eigval, const F* dbeta, const F* dg, F* db, F* da, F* dA_log, F* ddt_bias) {
  const F mul = neg_eigval ? F(2) : F(1);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < Hv; ++h) {
      const int64_t i = t * Hv + h;
      const F sb = F(1) / (F(1) + std::exp(-b[i]));
      db[i] = dbeta[i] * mul * sb * (F(1) - sb);
      const F s = a[i] + dt_bias[h], eA = std::exp(A_log[h]);
      // softplus is the identity above 20 in the forward, so its slope there is exactly 1.
      const F sp = s > F(20) ? s : std::log1p(std::exp(s));
      const F slope = s > F(20) ? F(1) : F(1) / (F(1) + std::exp(-s));
      const F ds = -dg[i] * eA * slope;
      da[i] = ds;
      ddt_bias[h] += ds;
      dA_log[h] += dg[i] * (-eA * sp);  // ∂g/∂A_log = g
    }
}

template void swiglu_backward<float>(const float*, const float*, const float*, float*, float*, int64_t);
template void swiglu_backward<double>(const double*, const double*, const double*, double*, double*, int64_t);
template void gdn_gates_backward<float>(const float*, const float*, int64_t, int64_t, const float*, const float*, bool,
                                        const float*, const float*, float*, float*, float*, float*);
template void gdn_gates_backward<double>(const double*, const double*, int64_t, int64_t, const double*,
                                         const double*, bool, const double*, const double*, double*, double*,
                                         double*, double*);

}  // namespace hyb
