// Depthwise causal conv + SiLU over the q|k|v channels of a GDN layer (spec §2.5 G3), streaming through a state
// of the K−1 previous raw (pre-conv) inputs so prefill, continuation, decode and training share one kernel.
#pragma once
#include <cstdint>

namespace hyb {

// x: [T, C] raw inputs. w: [C, K] taps (tap K−1 multiplies the current token). out: [T, C] = silu(conv).
// state: [K−1, C] raw inputs before x (oldest first), replaced by the last K−1 inputs on return; or null for a
// sequence that starts here from zeros and keeps no state (training, packed documents).
void short_conv_silu(const float* x, int64_t T, int64_t C, float* state, const float* w, int64_t K, float* out);

}  // namespace hyb
