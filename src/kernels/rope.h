// Rotary position embedding, "rotate-half" layout, f32 tables as HF computes them (spec §2.4).
#pragma once
#include <cstdint>

namespace hyb {

// x: [T, heads, hd] with row stride ld (floats between consecutive tokens); token t has position pos0 + t.
void rope_apply(float* x, int64_t T, int64_t heads, int64_t hd, int64_t ld, int64_t pos0, double theta);

}  // namespace hyb
