// RUN.json: everything one training run needs. The model is a full HF config object, a path to a config.json,
// or a preset ("hybrid" 3 GDN : 1 attention, "transformer" all attention, "gdn" all GDN) with size fields.
// The vocabulary and EOS/PAD ids always come from the data directory's tokenizer.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "io/model_config.h"
#include "kernels/gemm_mixed.h"
#include "train/adamw.h"
#include "train/lr_schedule.h"

namespace hyb {

struct RunConfig {
  nlohmann::json model;        // as written in RUN.json (object, path or preset)
  std::string data;            // prepared data directory
  std::string out = "run";
  int64_t steps = 100;         // planned length: the LR schedule spans it
  int64_t batch = 8, seq_len = 256;
  double lr = 1e-3, lr_final_ratio = 0.1;
  int64_t warmup = 0;
  std::string schedule = "cosine";
  int64_t decay_steps = 0;     // WSD decay length (0 = 20% of the post-warmup steps)
  double weight_decay = 0.1, beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  bool decay_gdn_gates = false;
  double grad_clip = 1.0, z_loss = 0.0;
  // EOS-separated documents inside a window are separate sequences (state reset, attention masked, RoPE from 0,
  // no label across a boundary). Off by default so earlier runs and their resume stay exact.
  bool document_boundaries = false;
  // Products of the linear layers and the lm_head: f32, or bf16 operands with f32 accumulation (master weights,
  // gradients, AdamW moments, reductions and the loss stay f32). See kernels/gemm_mixed.h.
  Precision precision = Precision::F32;
  uint64_t seed = 0;
  int64_t eval_interval = 0, eval_batches = 4;    // 0 = evaluate only at the end
  int64_t checkpoint_interval = 0;                 // 0 = checkpoint only at the end
  int64_t log_interval = 0;                        // progress line period in steps (0 = about once a second)
  // In-loop downstream evaluation: a multiple-choice suite file (eval/mc_suite.h) scored with the training weights
  // at every validation point, its first eval_suite_items items per task (0 = all). Logged, not part of identity.
  std::string eval_suite;
  int64_t eval_suite_items = 0;
  int threads = 0;

  // Post-training (`hybrid sft` / `hybrid dpo`): data is a JSONL file, the model starts from a checkpoint.
  std::string init_from;        // HF checkpoint directory (replaces "model")
  std::string tokenizer;        // for text rows (default: init_from)
  std::string val_data;         // optional JSONL scored at eval_interval and at the end
  int64_t epochs = 1;           // steps = epochs · ceil(rows / batch) unless "steps" is given
  double warmup_ratio = 0;      // warmup = round(warmup_ratio · steps) when > 0
  int64_t max_len = 4096;       // tokens per sequence (longer rows truncated, or dropped with drop_long)
  bool drop_long = false, skip_bad = false;
  int64_t pack = 0;             // tokens per forward pass (rows packed, each its own sequence); 0 = whole batch
  std::string loss = "dpo_norm";  // dpo: dpo | dpo_norm | simpo
  double beta = 5.0, label_smoothing = 0.0, gamma_ratio = 0.3;
  std::string ref;              // dpo reference model (default: init_from)
  bool steps_given = false;     // "steps" was in the file or on the command line

  static RunConfig load(const std::string& path);
  // Fields that change what the run computes (resume refuses to continue when any differs).
  nlohmann::json identity() const;
  // The same for post-training runs: the pretraining fields plus the post-training ones.
  nlohmann::json posttrain_identity(bool dpo) const;
  LrSchedule lr_schedule() const;
  AdamWConfig adamw() const;
  void validate() const;
};

// The model config of a run: the RUN.json model resolved against the tokenizer's vocabulary and special ids.
ModelConfig resolve_model(const nlohmann::json& model, const std::string& run_path, int64_t vocab_size,
                          int64_t eos_id, int64_t pad_id);

}  // namespace hyb
