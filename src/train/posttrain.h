// `hybrid sft` and `hybrid dpo`: post-training runs on the one trainer loop (trainer.h), starting from an HF
// checkpoint (init_from) and reading JSONL data (posttrain_data.h). Only the objective differs from pretraining:
//   SFT  token mean of the cross-entropy over the assistant tokens of the batch's rows
//   DPO  a preference loss (dpo | dpo_norm | simpo) over the batch's pairs, against reference log-probs computed
//        once from the reference model (default: init_from) and cached in OUT/ref_logps.json, keyed by the
//        reference model, the data file and the settings that change the tokens.
// Data order: each epoch is a permutation of the rows drawn from (seed, epoch); the batch of step s is rows
// [s · batch, (s + 1) · batch) of that sequence, so it depends on the seed and the step only (exact resume).
#pragma once
#include <string>

#include "train/run_config.h"
#include "train/trainer.h"

namespace hyb {

enum class PostTrainKind { Sft, Dpo };

int posttrain(RunConfig rc, PostTrainKind kind, const TrainOptions& opt);

// The row of global position `pos` (epoch = pos / n) under the per-epoch permutation of `seed`.
size_t epoch_row(uint64_t seed, size_t n, int64_t pos);

}  // namespace hyb
