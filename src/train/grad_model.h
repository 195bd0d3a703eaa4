// Training facade over the model core (model/model.h): B windows × T tokens → segments → forward with saved
// activations → lm_head + cross-entropy → the core's exact backward. It produces d(mean next-token cross-entropy
// [+ z-loss])/dθ for every canonical parameter. With document boundaries, each EOS-terminated document inside a
// window is its own fresh segment (conv and GDN state from zero, attention within it, RoPE from 0) and the
// position holding the EOS predicts nothing (no label crosses a boundary).
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "model/model.h"
#include "model/param_tensors.h"

namespace hyb {

struct LossStats {
  double loss = 0;     // mean next-token cross-entropy
  double z_mean = 0;   // mean lse² over the same targets (the z-loss before its multiplier)
  int64_t count = 0;   // number of targets: B·(T−1), or the non-negative entries of explicit targets
};

// One sequence of a post-training batch: ids[0, n) and, per position, the id it must predict (negative = not
// scored). Every sequence is its own fresh segment, so several in one call is packing with document boundaries.
struct ScoredSeq {
  const int32_t* ids;
  const int32_t* targets;
  int64_t n;
};

// Per sequence: Σ log p(target) over its scored positions, and how many there are.
struct SeqLogps {
  std::vector<double> logp;
  std::vector<int64_t> count;
};

// An objective of the sequences' log-probs (DPO and its relatives): returns its value and writes
// dlogp[s] = d objective / d logp[s].
using SeqObjective = std::function<double(const SeqLogps&, std::vector<double>& dlogp)>;

class GradModel {
 public:
  // `w` must hold F32 matrices (Weights::load(dir, WeightDType::F32), or ParamTensors::view()); it is not copied.
  explicit GradModel(const Weights& w);
  const ModelConfig& config() const { return w_.config(); }

  // Splits windows into documents after every `eos` token; -1 (the default) keeps each window one sequence.
  void set_document_boundaries(int32_t eos) { doc_eos_ = eos; }

  // ids: [B, T] row-major. Zeroes `grads`, then fills it with the gradient of loss + z_loss · z_mean. Targets are
  // ids shifted by one inside each sequence, unless `targets` ([B, T]) gives the id each position must predict,
  // negative = no loss there (synthetic tasks score answer positions only). The loss is the mean over scored
  // positions; a batch with none has loss 0 and zero gradients.
  LossStats loss_and_grads(const int32_t* ids, int64_t B, int64_t T, ParamTensors& grads, double z_loss = 0,
                           const int32_t* targets = nullptr);
  // The same loss without the backward (evaluation).
  LossStats loss(const int32_t* ids, int64_t B, int64_t T, const int32_t* targets = nullptr);

  // Token mean of the cross-entropy over every scored position of `seqs` (SFT), and its gradient.
  LossStats loss_and_grads(std::span<const ScoredSeq> seqs, ParamTensors& grads);
  LossStats loss(std::span<const ScoredSeq> seqs);
  // Log-probs of the scored tokens, no backward (reference models, `hybrid logps`).
  SeqLogps logps(std::span<const ScoredSeq> seqs);
  // f(logps) and its gradient: one forward, the lm_head once for the log-probs, then once more with each row's
  // gradient scaled by −df/dlogp of its sequence, and the core's backward. `out` receives the log-probs.
  double objective_and_grads(std::span<const ScoredSeq> seqs, ParamTensors& grads, const SeqObjective& f,
                             SeqLogps* out = nullptr);

 private:
  void build(const int32_t* ids, int64_t B, int64_t T, const int32_t* targets);
  void build(std::span<const ScoredSeq> seqs);
  SeqLogps head_logps(const std::vector<float>& h);
  LossStats run(ParamTensors* grads, double z_loss);

  const Weights& w_;
  Model model_;
  int32_t doc_eos_ = -1;
  std::vector<Segment> segs_;
  std::vector<int32_t> targets_;
  std::vector<float> dh_;
  std::vector<int64_t> seq_end_;  // row offset where each sequence of the last build(seqs) ends
  std::vector<double> row_ce_, row_scale_;
};

}  // namespace hyb
