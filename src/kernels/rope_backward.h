// Backward of rope_apply: the rotation is orthogonal, so the gradient is rotated by the negative angle.
#pragma once
#include <cstdint>

namespace hyb {

// In place on dx [T, heads, hd] (row stride ld); token t has position pos0 + t. Tables as in rope_apply
// (inv_freq in f32, angle and cos/sin in F).
template <class F>
void rope_backward(F* dx, int64_t T, int64_t heads, int64_t hd, int64_t ld, int64_t pos0, double theta);

}  // namespace hyb
