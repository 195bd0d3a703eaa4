// AdamW with decoupled weight decay, exactly torch.optim.AdamW's update (OLMo defaults: β 0.9/0.95, eps 1e-8,
// weight decay 0.1), plus global gradient-norm clipping. Which tensors decay is decided once per parameter:
// never the embedding (nor a lm_head tied to it) or norm weights; A_log / dt_bias by choice.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "model/param_tensors.h"

namespace hyb {

struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  double weight_decay = 0.1;
  bool decay_gdn_gates = false;  // apply weight decay to A_log and dt_bias (FLA marks them no-decay)
};

// L2 norm of all gradients together (each tensor once, also when lm_head is tied), accumulated in double.
double global_grad_norm(const ParamTensors& grads);
// The norm's parts: Σx² of each kNormBlock-element block of x[0, n), written to part[ceil(n / kNormBlock)]. The
// norm is √(Σ part) summed in block order, so a data-parallel run whose shards start on block boundaries gets the
// same bits as one process.
constexpr size_t kNormBlock = 65536;
void block_sumsq(const float* x, size_t n, double* part);

// torch.nn.utils.clip_grad_norm_: scales every gradient by min(1, max_norm / (norm + 1e-6)). Returns the
// pre-clip norm. max_norm <= 0 disables clipping (the norm is still returned).
double clip_grad_norm(ParamTensors& grads, double max_norm);

// Updates the elements [lo, hi) of the flat parameter arena (ParamTensors::data()), and keeps the moments of
// those only: the whole model by default, one ZeRO-1 shard in a data-parallel run. The update is elementwise, so
// a shard's result is bit-identical to the same elements of a whole-model update.
class AdamW {
 public:
  AdamW(const ModelConfig& cfg, const AdamWConfig& opt, size_t lo = 0, size_t hi = SIZE_MAX);

  // One update of params[lo, hi) with grads[lo, hi) at learning rate lr; increments step().
  void update(ParamTensors& params, const ParamTensors& grads, double lr);

  int64_t step() const { return step_; }
  const AdamWConfig& options() const { return opt_; }
  bool decays(size_t tensor) const { return decay_[tensor]; }
  // Optimizer state: first and second moments of the elements [lo(), hi()) of the arena.
  size_t lo() const { return lo_; }
  size_t hi() const { return hi_; }
  float* exp_avg() { return m_.data(); }
  float* exp_avg_sq() { return v_.data(); }
  const float* exp_avg() const { return m_.data(); }
  const float* exp_avg_sq() const { return v_.data(); }
  void set_step(int64_t s) { step_ = s; }

 private:
  AdamWConfig opt_;
  size_t lo_ = 0, hi_ = 0;
  std::vector<size_t> offsets_;  // arena offset of each tensor, and the total
  std::vector<float> m_, v_;
  std::vector<bool> decay_;
  int64_t step_ = 0;
};

}  // namespace hyb
