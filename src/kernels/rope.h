// Rotary position embedding, "rotate-half" layout, f32 tables as HF computes them (spec §2.4).
#pragma once
#include <cstdint>
#include <vector>

namespace hyb {

// x: [T, heads, hd] with row stride ld (floats between consecutive tokens); token t has position pos0 + t.
// inv_freq[i] = 1 / theta^(2i/hd) in f32, as HF computes it (shared by the forward and backward).
std::vector<float> rope_inv_freq(int64_t hd, double theta);

void rope_apply(float* x, int64_t T, int64_t heads, int64_t hd, int64_t ld, int64_t pos0, double theta);

}  // namespace hyb
