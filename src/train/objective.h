// What varies between training runs: how the batch of a step is built and what its loss is. The trainer loop
// (trainer.h) owns everything else — parameters, AdamW, clipping, the LR schedule, progress, metrics.jsonl,
// checkpoints and resume — and is the same for pretraining (next-token), SFT and DPO.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "model/param_tensors.h"
#include "train/grad_model.h"

namespace hyb {

class Objective {
 public:
  struct Step {
    double loss = 0;
    int64_t tokens = 0;                                  // tokens through the model (for tokens/s)
    nlohmann::json metrics = nlohmann::json::object();   // extra metrics.jsonl fields (e.g. TRL's rewards/*)
    std::string progress;                                // extra text for the progress line
  };
  virtual ~Objective() = default;
  // The batch of optimizer step `step` (0-based; a pure function of the seed and the step, for exact resume):
  // its loss, and its gradient written into `grads`.
  virtual Step step(int64_t step, GradModel& gm, ParamTensors& grads) = 0;
  // Validation loss (NAN when the run has no validation data).
  virtual double validate(GradModel&) { return NAN; }
  virtual bool has_validation() const { return false; }
};

}  // namespace hyb
