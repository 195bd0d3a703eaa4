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

// torch.nn.utils.clip_grad_norm_: scales every gradient by min(1, max_norm / (norm + 1e-6)). Returns the
// pre-clip norm. max_norm <= 0 disables clipping (the norm is still returned).
double clip_grad_norm(ParamTensors& grads, double max_norm);

class AdamW {
 public:
  AdamW(const ModelConfig& cfg, const AdamWConfig& opt);

  // One update of params with grads at learning rate lr; increments step().
  void update(ParamTensors& params, const ParamTensors& grads, double lr);

  int64_t step() const { return step_; }
  const AdamWConfig& options() const { return opt_; }
  bool decays(size_t tensor) const { return decay_[tensor]; }
  // Optimizer state for checkpoints: first and second moments, same layout as the parameters.
  ParamTensors& exp_avg() { return *m_; }
  ParamTensors& exp_avg_sq() { return *v_; }
  void set_step(int64_t s) { step_ = s; }

 private:
  AdamWConfig opt_;
  std::unique_ptr<ParamTensors> m_, v_;
  std::vector<bool> decay_;
  int64_t step_ = 0;
};

}  // namespace hyb
