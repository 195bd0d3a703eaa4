#include "train/adamw.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "train/zero_shard.h"

namespace hyb {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

void block_sumsq(const float* p, size_t n_, double* part) {
  // Fixed blocks summed in order, so the norm (and hence clipping) does not depend on thread timing.
  const int64_t kBlock = int64_t(kNormBlock), n = int64_t(n_), nb = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (nb > 1)
  for (int64_t b = 0; b < nb; ++b) {
    double ss = 0;
    for (int64_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) ss += double(p[i]) * p[i];
    part[b] = ss;
  }
}

double global_grad_norm(const ParamTensors& g) {
  std::vector<double> part((g.size() + kNormBlock - 1) / kNormBlock);
  block_sumsq(g.data(), g.size(), part.data());
  double ss = 0;
  for (double x : part) ss += x;
  return std::sqrt(ss);
}

double clip_grad_norm(ParamTensors& g, double max_norm) {
  // The 1-rank case of the data-parallel clip: one implementation of the norm and the scaling.
  const auto one = make_single_process_communicator();
  return sharded_clip_grad_norm(g.data(), ShardLayout::make(g.size(), 0, 1), *one, max_norm);
}

AdamW::AdamW(const ModelConfig& cfg, const AdamWConfig& opt, size_t lo, size_t hi) : opt_(opt) {
  if (!(opt.beta1 >= 0 && opt.beta1 < 1) || !(opt.beta2 >= 0 && opt.beta2 < 1))
    fail("adamw betas: each must lie in [0, 1), got ", opt.beta1, ", ", opt.beta2);
  if (!(opt.eps > 0)) fail("adamw eps: must be positive, got ", opt.eps);
  if (!(opt.weight_decay >= 0)) fail("weight_decay: must be >= 0, got ", opt.weight_decay);
  const std::vector<ParamSpec> specs = canonical_params(cfg);  // the arena's tensor order (ParamTensors')
  offsets_.push_back(0);
  for (const auto& s : specs) {
    size_t n = 1;
    for (int64_t d : s.shape) n *= size_t(d);
    offsets_.push_back(offsets_.back() + n);
  }
  hi_ = std::min(hi, offsets_.back());
  lo_ = std::min(lo, hi_);
  m_.assign(hi_ - lo_, 0.f);
  v_.assign(hi_ - lo_, 0.f);
  for (auto& s : specs) {
    const std::string& n = s.name;
    bool d = true;
    if (n == "model.embed_tokens.weight") d = false;
    if (ends_with(n, "norm.weight") || ends_with(n, "layernorm.weight")) d = false;  // every RMSNorm weight
    if ((ends_with(n, ".A_log") || ends_with(n, ".dt_bias")) && !opt.decay_gdn_gates) d = false;
    decay_.push_back(d);
  }
}

void AdamW::update(ParamTensors& params, const ParamTensors& grads, double lr) {
  HYB_ASSERT(params.size() == offsets_.back() && grads.size() == offsets_.back());
  ++step_;
  const double b1 = opt_.beta1, b2 = opt_.beta2;
  const double bc1 = 1 - std::pow(b1, double(step_)), bc2 = 1 - std::pow(b2, double(step_));
  const float step_size = float(lr / bc1), bc2_sqrt = float(std::sqrt(bc2)), eps = float(opt_.eps);
  const float fb1 = float(b1), fb2 = float(b2), decay = float(1 - lr * opt_.weight_decay);
  for (size_t t = 0; t + 1 < offsets_.size(); ++t) {
    const size_t a = std::max(lo_, offsets_[t]), b = std::min(hi_, offsets_[t + 1]);
    if (a >= b) continue;
    float* p = params.data() + a;
    const float* g = grads.data() + a;
    float* m = m_.data() + (a - lo_);
    float* v = v_.data() + (a - lo_);
    const int64_t n = int64_t(b - a);
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
