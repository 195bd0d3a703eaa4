// One contiguous f32 arena holding a tensor per canonical parameter (canonical_params() order), with typed
// pointers that mirror LayerWeights. Used for gradients, and for trainer-owned parameters and optimizer moments:
// view() turns an arena of parameters into Weights the inference model can run on.
#pragma once
#include <string>
#include <vector>

#include "model/weights.h"

namespace hyb {

struct GdnParams {
  float *q = nullptr, *k = nullptr, *v = nullptr, *a = nullptr, *b = nullptr, *g = nullptr, *o = nullptr;
  float *conv = nullptr, *A_log = nullptr, *dt_bias = nullptr, *o_norm = nullptr;
};
struct AttnParams {
  float *q = nullptr, *k = nullptr, *v = nullptr, *o = nullptr, *q_norm = nullptr, *k_norm = nullptr;
};
struct LayerParams {
  float *input_norm = nullptr, *post_attn_norm = nullptr, *post_ff_norm = nullptr;
  GdnParams gdn;
  AttnParams attn;
  float *gate = nullptr, *up = nullptr, *down = nullptr;
};

class ParamTensors {
 public:
  // capacity > size() allocates zeroed padding after the last tensor (the equal-block layout of a data-parallel
  // run's collectives, train/zero_shard.h); size() and the tensors are unchanged by it.
  explicit ParamTensors(const ModelConfig& cfg, size_t capacity = 0);
  ParamTensors(const ParamTensors&) = delete;  // the typed pointers point into data_
  ParamTensors& operator=(const ParamTensors&) = delete;

  const ModelConfig& config() const { return cfg_; }
  const std::vector<ParamSpec>& specs() const { return specs_; }
  int64_t numel(size_t i) const { return int64_t(offsets_[i + 1] - offsets_[i]); }
  float* tensor(size_t i) { return data_.data() + offsets_[i]; }
  const float* tensor(size_t i) const { return data_.data() + offsets_[i]; }
  // By canonical name; "lm_head.weight" resolves to the embedding when tied. Null if absent.
  float* find(const std::string& name);
  const float* find(const std::string& name) const { return const_cast<ParamTensors*>(this)->find(name); }

  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  size_t size() const { return offsets_.back(); }
  size_t capacity() const { return data_.size(); }
  void zero();  // the padding too

  // Copies (widening BF16) every parameter of w, whose config must match.
  void copy_from(const Weights& w);
  // F32 Weights whose views point into this arena (valid while it lives and is not resized). `products` is the
  // precision of every GEMM with the linear weights and the lm_head (BF16: mixed-precision training); the
  // embedding is only looked up.
  Weights view(Precision products = Precision::F32) const;

  float* embed = nullptr;
  float* lm_head = nullptr;  // == embed when tie_word_embeddings
  float* final_norm = nullptr;
  std::vector<LayerParams> layers;

 private:
  ModelConfig cfg_;
  std::vector<ParamSpec> specs_;
  std::vector<size_t> offsets_;
  std::vector<float> data_;
};

}  // namespace hyb
