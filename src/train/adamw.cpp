#include "train/adamw.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace hyb {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

double global_grad_norm(const ParamTensors& g) {
  // Fixed blocks summed in order, so the norm (and hence clipping) does not depend on thread timing.
  constexpr int64_t kBlock = 1 << 16;
  const float* p = g.data();
  const int64_t n = int64_t(g.size()), nb = (n + kBlock - 1) / kBlock;
  std::vector<double> part(static_cast<size_t>(nb));
#pragma omp parallel for schedule(static) if (nb > 1)
  for (int64_t b = 0; b < nb; ++b) {
    double ss = 0;
    for (int64_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) ss += double(p[i]) * p[i];
    part[b] = ss;
  }
  double ss = 0;
  for (double x : part) ss += x;
  return std::sqrt(ss);
}

double clip_grad_norm(ParamTensors& g, double max_norm) {
  const double norm = global_grad_norm(g);
  if (max_norm <= 0) return norm;
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1) {
    const float c = float(coef);
    float* p = g.data();
    const int64_t n = int64_t(g.size());
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) p[i] *= c;
  }
  return norm;
}

AdamW::AdamW(const ModelConfig& cfg, const AdamWConfig& opt)
    : opt_(opt), m_(std::make_unique<ParamTensors>(cfg)), v_(std::make_unique<ParamTensors>(cfg)) {
  if (!(opt.beta1 >= 0 && opt.beta1 < 1) || !(opt.beta2 >= 0 && opt.beta2 < 1))
    fail("adamw betas: each must lie in [0, 1), got ", opt.beta1, ", ", opt.beta2);
  if (!(opt.eps > 0)) fail("adamw eps: must be positive, got ", opt.eps);
  if (!(opt.weight_decay >= 0)) fail("weight_decay: must be >= 0, got ", opt.weight_decay);
  for (auto& s : m_->specs()) {
    const std::string& n = s.name;
    bool d = true;
    if (n == "model.embed_tokens.weight") d = false;
    if (ends_with(n, "norm.weight") || ends_with(n, "layernorm.weight")) d = false;  // every RMSNorm weight
    if ((ends_with(n, ".A_log") || ends_with(n, ".dt_bias")) && !opt.decay_gdn_gates) d = false;
    decay_.push_back(d);
  }
}

void AdamW::update(ParamTensors& params, const ParamTensors& grads, double lr) {
  HYB_ASSERT(params.size() == m_->size() && grads.size() == m_->size());
  ++step_;
  const double b1 = opt_.beta1, b2 = opt_.beta2;
  const double bc1 = 1 - std::pow(b1, double(step_)), bc2 = 1 - std::pow(b2, double(step_));
  const float step_size = float(lr / bc1), bc2_sqrt = float(std::sqrt(bc2)), eps = float(opt_.eps);
  const float fb1 = float(b1), fb2 = float(b2), decay = float(1 - lr * opt_.weight_decay);
  for (size_t t = 0; t < m_->specs().size(); ++t) {
    float* p = params.tensor(t);
    const float* g = grads.tensor(t);
    float* m = m_->tensor(t);
    float* v = v_->tensor(t);
    const int64_t n = m_->numel(t);
    const bool wd = decay_[t] && opt_.weight_decay > 0;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) {
      if (wd) p[i] *= decay;
      m[i] += (g[i] - m[i]) * (1 - fb1);  // torch: exp_avg.lerp_(grad, 1 − β1)
      v[i] = v[i] * fb2 + (1 - fb2) * g[i] * g[i];
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps);
    }
  }
}

}  // namespace hyb
