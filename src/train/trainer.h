// The training loop: data windows → GradModel loss and gradients → clipping → AdamW at the scheduled LR, with
// periodic validation, metrics.jsonl, atomic checkpoints and exact resume.
#pragma once
#include <cstdint>
#include <string>

#include "io/model_config.h"
#include "train/run_config.h"

namespace hyb {

struct TrainOptions {
  bool resume = false;
  int64_t until = 0;        // stop after this step (checkpointing), leaving the schedule planned for rc.steps
  bool quiet = false;
};

// Bytes a run needs: parameters, gradients, two AdamW moments, and activations saved for the backward.
struct MemoryEstimate {
  double params = 0, optimizer = 0, activations = 0;
  double total() const { return params + optimizer + activations; }
};
MemoryEstimate estimate_memory(const ModelConfig& c, int64_t batch, int64_t seq_len);

// Returns the process exit code (0 done, 1 stopped on a non-finite loss). fail()s on bad input.
int train(const RunConfig& rc, const std::string& run_path, const TrainOptions& opt);

}  // namespace hyb
