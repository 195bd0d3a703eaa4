// Training facade over the model core (model/model.h): B windows × T tokens → segments → forward with saved
// activations → lm_head + cross-entropy → the core's exact backward. It produces d(mean next-token cross-entropy
// [+ z-loss])/dθ for every canonical parameter. With document boundaries, each EOS-terminated document inside a
// window is its own fresh segment (conv and GDN state from zero, attention within it, RoPE from 0) and the
// position holding the EOS predicts nothing (no label crosses a boundary).
#pragma once
#include <cstdint>
#include <vector>

#include "model/model.h"
#include "model/param_tensors.h"

namespace hyb {

struct LossStats {
  double loss = 0;     // mean next-token cross-entropy
  double z_mean = 0;   // mean lse² over the same targets (the z-loss before its multiplier)
  int64_t count = 0;   // number of targets: B·(T−1), or the non-negative entries of explicit targets
};

class GradModel {
 public:
  // `w` must hold F32 matrices (Weights::load(dir, WeightDType::F32), or ParamTensors::view()); it is not copied.
  explicit GradModel(const Weights& w);

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

 private:
  void build(const int32_t* ids, int64_t B, int64_t T, const int32_t* targets);
  LossStats run(ParamTensors* grads, double z_loss);

  const Weights& w_;
  Model model_;
  int32_t doc_eos_ = -1;
  std::vector<Segment> segs_;
  std::vector<int32_t> targets_;
  std::vector<float> dh_;
};

}  // namespace hyb
