// Backward of the normalisations in norms.h (spec §5.3). Same arguments as the forward plus the incoming
// gradient; the forward inputs are re-read and the per-row inverse norms recomputed (cheaper than storing them).
// Weight gradients accumulate (+=); input gradients are written, or added with accumulate = true.
#pragma once
#include <cstdint>

namespace hyb {

// y = w ⊙ x·r, r = 1/sqrt(mean(x²) + eps), per row of n. dx may alias dy.
template <class F>
void rmsnorm_backward(const F* x, const F* w, const F* dy, F* dx, F* dw, int64_t rows, int64_t n, double eps,
                      int64_t ldx = -1, int64_t lddy = -1, int64_t lddx = -1, bool accumulate = false);

// y = w ⊙ o·r ⊙ silu(z) per row of n (the GDN output norm). d_o / dz are written; dw accumulates.
template <class F>
void gated_rmsnorm_backward(const F* o, const F* z, const F* w, const F* dy, F* d_o, F* dz, F* dw, int64_t rows,
                            int64_t n, double eps);

// y = scale · x / sqrt(Σx² + eps) per head vector of n; head h of token t at x + t·ldx + h·n (same for dy, dx
// with their strides). dx may alias dy.
template <class F>
void l2norm_scale_backward(const F* x, const F* dy, F* dx, int64_t T, int64_t heads, int64_t n, int64_t ldx,
                           int64_t lddy, int64_t lddx, double eps, double scale);

}  // namespace hyb
