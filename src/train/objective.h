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

// Micro-batch `index` of `count` equal, contiguous parts of a step's global batch (rows [index·B/count,
// (index+1)·B/count)). A data-parallel run with grad-accum A on N ranks gives rank r the parts r·A .. r·A + A − 1
// of N·A, so the rows of a step never depend on N or A.
struct BatchPart {
  int64_t index = 0, count = 1;
};

class Objective {
 public:
  struct Step {
    double loss = 0;
    double weight = 1;   // what the loss is a mean over (scored tokens, pairs): parts combine as weighted means
    int64_t tokens = 0;  // tokens through the model (for tokens/s)
    nlohmann::json metrics = nlohmann::json::object();  // extra metrics.jsonl fields, means over `weight` units
    nlohmann::json counts = nlohmann::json::object();   // extra metrics.jsonl fields that add up (counts)
  };
  virtual ~Objective() = default;
  // Part `part` of the batch of optimizer step `step` (0-based; a pure function of the seed and the step, for
  // exact resume): its loss, and its gradient written into `grads`.
  virtual Step step(int64_t step, BatchPart part, GradModel& gm, ParamTensors& grads) = 0;
  // Extra text for the progress line, from a step's (combined) metrics.
  virtual std::string progress(const nlohmann::json& metrics) const { return ""; }
  // Validation loss (NAN when the run has no validation data).
  virtual double validate(GradModel&) { return NAN; }
  virtual bool has_validation() const { return false; }
};

}  // namespace hyb
