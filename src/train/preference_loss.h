// DPO and its relatives as functions of sequence log-probs (post-training-recipes: open-instruct / TRL names).
// Pair p of a batch is sequences 2p (chosen) and 2p + 1 (rejected). With
// h = (log πθ(y_w) − log π_ref(y_w)) − (log πθ(y_l) − log π_ref(y_l)):
//   dpo:      L = −log σ(β h), log-probs summed over the completion tokens
//   dpo_norm: the same with per-token means
//   simpo:    L = −log σ(β (mean log πθ(y_w) − mean log πθ(y_l)) − γ), γ = gamma_ratio · β, no reference
// Label smoothing ε: L = −(1 − ε) log σ(z) − ε log σ(−z) for the same z. The batch loss is the mean over pairs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "train/grad_model.h"

namespace hyb {

enum class PrefLoss { Dpo, DpoNorm, Simpo };
PrefLoss parse_pref_loss(const std::string& name);  // fail()s naming the valid ones
const char* pref_loss_name(PrefLoss k);
inline bool needs_reference(PrefLoss k) { return k != PrefLoss::Simpo; }

struct PrefLossConfig {
  PrefLoss kind = PrefLoss::DpoNorm;
  double beta = 5.0;
  double label_smoothing = 0.0;
  double gamma_ratio = 0.3;  // simpo only
};

// TRL's metric names: loss, rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins, logps/chosen,
// logps/rejected (means over pairs; rewards are β·(policy − reference) in the loss's normalisation, for simpo
// β·mean log-prob; logps are the summed log-probs).
struct PrefMetrics {
  double loss = 0, reward_chosen = 0, reward_rejected = 0, accuracy = 0, margin = 0, logp_chosen = 0,
         logp_rejected = 0;
  int64_t pairs = 0;
};

// The loss of the batch, and when `dlogp` is given, d loss / d policy.logp[s] for every sequence. `ref` holds the
// reference log-probs of the same sequences (may be null for simpo).
PrefMetrics preference_loss(const PrefLossConfig& cfg, const SeqLogps& policy, const SeqLogps* ref,
                            std::vector<double>* dlogp);

}  // namespace hyb
