#include "kernels/linear_backward.h"

#include "kernels/blas.h"

namespace hyb {

template <class F>
void linear_backward_input(const F* dy, int64_t M, int64_t lddy, const F* W, int64_t out, int64_t in, F* dx,
                           int64_t lddx, F beta) {
  gemm<F>(false, false, M, in, out, F(1), dy, lddy, W, in, beta, dx, lddx);
}

template <class F>
void linear_backward_weight(const F* dy, int64_t M, int64_t lddy, const F* x, int64_t ldx, F* dW, int64_t out,
                            int64_t in) {
  gemm<F>(true, false, out, in, M, F(1), dy, lddy, x, ldx, F(1), dW, in);
}

template void linear_backward_input<float>(const float*, int64_t, int64_t, const float*, int64_t, int64_t, float*,
                                           int64_t, float);
template void linear_backward_input<double>(const double*, int64_t, int64_t, const double*, int64_t, int64_t,
                                            double*, int64_t, double);
template void linear_backward_weight<float>(const float*, int64_t, int64_t, const float*, int64_t, float*, int64_t,
                                            int64_t);
template void linear_backward_weight<double>(const double*, int64_t, int64_t, const double*, int64_t, double*,
                                             int64_t, int64_t);

}  // namespace hyb
