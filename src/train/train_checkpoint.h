// Training checkpoints: an HF-layout model directory (config.json, generation_config.json, model.safetensors in
// F32, tokenizer files) that `hybrid generate` / `logits` load as is, plus optimizer.safetensors (AdamW moments)
// and trainer_state.json (step, tokens, seed, data position, the run's identity for resume checks).
//
// Atomicity: everything is written into OUT/checkpoint.partial and fsynced; then OUT/checkpoint is renamed to
// OUT/checkpoint.prev, the partial directory to OUT/checkpoint, and only then is the previous one deleted. A crash
// at any point leaves either OUT/checkpoint or OUT/checkpoint.prev complete; find_checkpoint() picks it.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "train/adamw.h"
#include "model/param_tensors.h"

namespace hyb {

struct TrainState {
  int64_t step = 0;        // updates done; the data position is the next batch index, which equals it
  int64_t tokens = 0;      // training tokens consumed
  nlohmann::json identity; // RunConfig::identity() + model config + data fingerprint
};

// The AdamW moments of the whole arena (a data-parallel run gathers its shards first) and its step count.
struct OptimizerState {
  const float* exp_avg = nullptr;
  const float* exp_avg_sq = nullptr;
  int64_t step = 0;
};

void save_train_checkpoint(const std::string& out_dir, const ParamTensors& params, const OptimizerState& opt,
                           const TrainState& st, const std::string& data_dir);

// The newest complete checkpoint directory in out_dir, or "" if there is none.
std::string find_checkpoint(const std::string& out_dir);

// Reads trainer_state.json only.
TrainState read_train_state(const std::string& ckpt_dir);
// Loads parameters, and the optimizer moments of opt's elements [lo, hi) — the whole model or one ZeRO-1 shard:
// the files hold the whole model whatever the world size that wrote them (configs must already match).
void load_train_checkpoint(const std::string& ckpt_dir, ParamTensors& params, AdamW& opt);

}  // namespace hyb
