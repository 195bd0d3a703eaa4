// The training loop: data windows → GradModel loss and gradients → clipping → AdamW at the scheduled LR, with
// periodic validation, metrics.jsonl, atomic checkpoints and exact resume.
#pragma once
#include <cstdint>
#include <string>

#include <functional>

#include <nlohmann/json.hpp>

#include "dist/communicator.h"
#include "io/model_config.h"
#include "model/param_tensors.h"
#include "train/objective.h"
#include "train/run_config.h"

namespace hyb {

// An extra evaluation at every validation point (the CLI wires the in-loop multiple-choice suite here, so the
// training layer does not depend on the evaluation layer): fields for that step's metrics.jsonl line and text for
// the progress line. It runs on rank 0 only, between steps.
struct InLoopEval {
  nlohmann::json fields = nlohmann::json::object();
  std::string progress;
};
using InLoopEvaluator = std::function<InLoopEval(GradModel&)>;

struct TrainOptions {
  bool resume = false;
  int64_t until = 0;        // stop after this step (checkpointing), leaving the schedule planned for rc.steps
  bool quiet = false;
  // Data parallelism: each optimizer step's batch is split into ranks × grad_accum equal micro-batches; rank r
  // computes micro-batches r·A .. r·A + A − 1 one after another. Neither changes which rows a step sees.
  int64_t grad_accum = 1;
  Communicator* comm = nullptr;  // null: world() (MPI under mpirun, else one process)
  InLoopEvaluator in_loop_eval;  // optional
};

// Bytes a run needs: parameters, gradients, two AdamW moments, and activations saved for the backward.
struct MemoryEstimate {
  double params = 0, optimizer = 0, activations = 0;
  double total() const { return params + optimizer + activations; }
};
MemoryEstimate estimate_memory(const ModelConfig& c, int64_t batch, int64_t seq_len);
// Per rank, for `ranks` ranks (ZeRO-1 divides the moments) and `parts` micro-batches per step (more than one adds
// a gradient buffer). fail()s, before anything large is allocated, when `local_ranks` such ranks would not fit
// in this host's physical memory.
MemoryEstimate check_memory(const ModelConfig& c, int64_t tokens_per_pass, int ranks = 1, int64_t parts = 1,
                            int local_ranks = 1);

// Pretraining (next-token loss on prepared token shards). Returns the process exit code (0 done). fail()s on bad
// input.
int train(const RunConfig& rc, const std::string& run_path, const TrainOptions& opt);

// The one training loop, for any objective. rc.steps must already be final.
struct TrainLoop {
  const RunConfig& rc;
  ModelConfig cfg;
  nlohmann::json identity;                          // resume refuses a checkpoint whose identity differs
  std::function<void(ParamTensors&)> init_params;   // fresh runs only
  std::string files_from;                           // directory whose tokenizer files go into checkpoints
  std::function<int64_t(int64_t rows)> tokens_per_pass;  // of a micro-batch of `rows` rows (memory estimate)
  std::string banner;                               // start-up line (data description)
};
int run_training(const TrainLoop& loop, Objective& obj, const TrainOptions& opt);

}  // namespace hyb
