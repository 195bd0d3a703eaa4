// The post-training objectives over micro-batches: rows packed into micro-batches of at most `pack` tokens (each
// row its own segment: fresh state, attention within it), gradients accumulated so the result is the gradient of
// the whole batch's loss whatever the packing. Used by `hybrid grads --sft/--dpo`, `hybrid logps` and training.
#pragma once
#include <cstdint>
#include <vector>

#include "train/grad_model.h"
#include "train/posttrain_data.h"
#include "train/preference_loss.h"

namespace hyb {

// Greedy in order: a micro-batch takes rows while their tokens fit in `pack` (a longer row goes alone);
// pack <= 0 puts all rows in one micro-batch. Returns row indices per micro-batch.
std::vector<std::vector<size_t>> pack_rows(const std::vector<int64_t>& lengths, int64_t pack);

// SFT: the token mean of the cross-entropy over every scored position of `rows`, and (grads non-null) its gradient.
LossStats sft_loss(GradModel& gm, const std::vector<const ScoredRow*>& rows, int64_t pack, ParamTensors* grads);

// Log-probs of each row's scored tokens (micro-batches of `pack` tokens; 0 = all at once).
SeqLogps row_logps(GradModel& gm, const std::vector<const ScoredRow*>& rows, int64_t pack);

// Preference pairs: sequences 2p / 2p + 1 of `seqs` are pair p's chosen / rejected; `ref` the reference log-probs
// of the same sequences (null for simpo). A pair never splits across micro-batches.
PrefMetrics pref_loss(GradModel& gm, const std::vector<const ScoredRow*>& seqs, const SeqLogps* ref,
                      const PrefLossConfig& cfg, int64_t pack, ParamTensors* grads);

}  // namespace hyb
