// The model core: one implementation of the OLMo Hybrid forward (and its exact backward) over a batch of
// segments (model/batch.h). Prefill, continuation, single-token decode of many sequences at once, packed training
// rows and scoring are all the same call; the layers live in gdn_layer / attention_layer / mlp_layer.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "model/batch.h"
#include "model/cache.h"
#include "model/layer_context.h"
#include "model/weights.h"

namespace hyb {

class ParamTensors;

class Model {
 public:
  explicit Model(Weights w);          // owns the weights
  explicit Model(const Weights* w);   // borrows them (the trainer's parameter views); they must outlive the model
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const { return w_->config(); }
  const Weights& weights() const { return *w_; }
  // Caches made for this model store attention K/V in kv_dtype() (F32 unless set).
  Cache new_cache() const { return Cache(w_->config(), kv_); }
  void set_kv_dtype(KvDtype kv) { kv_ = kv; }
  KvDtype kv_dtype() const { return kv_; }

  // Runs every segment; segments with a cache continue from it and leave it holding their tokens too. logits
  // receives, segment by segment, the rows each asks for ([vocab] each; logit_rows() of them in all).
  // Invariant grouping (the default) makes each segment's numbers independent of the rest of the batch.
  void forward(std::span<const Segment> segs, float* logits, RowGrouping grouping = RowGrouping::Invariant);
  static int64_t logit_rows(std::span<const Segment> segs);

  // One sequence: T new tokens after whatever `cache` holds. logits: [T, vocab], or [vocab] with last_only.
  void forward(const int32_t* ids, int64_t T, Cache& cache, float* logits, bool last_only = false);

  // Training and scoring. Runs fresh segments with stacked GEMMs and returns the final-norm output [rows, D]
  // (segment order); with `save` every layer's activations are kept for backward().
  const std::vector<float>& forward_train(std::span<const Segment> segs, bool save);
  // Zeroes nothing: adds d(loss)/dθ to grads given d(loss)/d(final-norm output) [rows, D] of the last
  // forward_train(save = true), whose segments must still be alive.
  void backward(const float* dhidden, ParamTensors& grads);

 private:
  void prepare(std::span<const Segment> segs, RowGrouping grouping, bool save);
  // Whether adjacent long segments may share one GEMM without changing any row's numbers (see plan_row_groups).
  bool stack_long_rows() const;
  void run_layers(bool save);

  Weights own_;
  const Weights* w_;
  BatchRows rows_;
  std::vector<Segment> segs_;        // of the last forward (backward needs them)
  std::vector<LayerActs> saved_;     // per layer, when a backward follows
  LayerActs acts_;                   // shared by all layers otherwise
  LayerScratch scratch_;
  std::vector<float> x_, xf_, hf_, hl_;
  bool saved_valid_ = false;
  KvDtype kv_ = KvDtype::F32;
};

}  // namespace hyb
