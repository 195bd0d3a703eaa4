// Backward of short_conv_silu (spec §5.3) for a sequence that starts from a zero conv state (training).
#pragma once
#include <cstdint>

namespace hyb {

// x: [T, C] raw conv inputs, w: [C, K] taps, dout: [T, C] gradient of silu(conv(x)).
// dx [T, C] is written; dw [C, K] accumulates. The conv pre-activation is recomputed from x.
template <class F>
void short_conv_silu_backward(const F* x, int64_t T, int64_t C, const F* w, int64_t K, const F* dout, F* dx, F* dw);

}  // namespace hyb
