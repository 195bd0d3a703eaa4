// Model FLOPs of a training step, per token (the MFU numerator): 6 per matmul parameter (forward 2, backward 4)
// plus the sequence mixing that has no parameters, counted for what the layer must compute, not how our kernels
// happen to compute it.
#pragma once
#include <cstdint>

#include "io/model_config.h"

namespace hyb {

struct TrainFlops {
  double params = 0;   // 6 · (every weight matrix except the embedding lookup; lm_head included)
  double mixing = 0;   // causal attention scores and weighted sums, GDN state updates and reads (×3 for backward)
  double total() const { return params + mixing; }
};

TrainFlops train_flops_per_token(const ModelConfig& cfg, int64_t seq_len);

}  // namespace hyb
