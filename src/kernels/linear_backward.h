// Backward of y = x · Wᵀ (nn.Linear layout W [out, in]) for dense weights of the compute type.
#pragma once
#include <cstdint>

namespace hyb {

// dx[M, in] (row stride lddx) = beta·dx + dy[M, out] · W.   beta is 0 (overwrite) or 1 (accumulate).
template <class F>
void linear_backward_input(const F* dy, int64_t M, int64_t lddy, const F* W, int64_t out, int64_t in, F* dx,
                           int64_t lddx, F beta);

// dW[out, in] += dyᵀ · x, with dy [M, out] (row stride lddy) and x [M, in] (row stride ldx).
template <class F>
void linear_backward_weight(const F* dy, int64_t M, int64_t lddy, const F* x, int64_t ldx, F* dW, int64_t out,
                            int64_t in);

}  // namespace hyb
