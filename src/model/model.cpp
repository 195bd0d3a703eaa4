#include "model/model.h"

#include <algorithm>
#include <unordered_set>

#include "core/error.h"
#include "core/phase_profile.h"
#include "kernels/gemm.h"
#include "kernels/norms.h"
#include "kernels/norms_backward.h"
#include "model/attention_layer.h"
#include "model/gdn_layer.h"
#include "model/param_tensors.h"
#include "model/projection.h"

namespace hyb {

LayerCache* LayerCtx::cache(size_t seg) const {
  Cache* c = batch.segs[seg].cache;
  return c ? &c->layers[layer] : nullptr;
}

Model::Model(Weights w) : own_(std::move(w)), w_(&own_) {}
Model::Model(const Weights* w) : w_(w) {}

namespace {
int64_t logit_count(const Segment& s) { return s.logits == LogitRows::All ? s.n : s.logits == LogitRows::Last; }
}  // namespace

int64_t Model::logit_rows(std::span<const Segment> segs) {
  int64_t r = 0;
  for (const Segment& s : segs) r += logit_count(s);
  return r;
}

bool Model::stack_long_rows() const { return w_->matrix_dtype == DType::BF16 && bf16_fast_active(); }

void Model::prepare(std::span<const Segment> segs, RowGrouping grouping, bool save) {
  const ModelConfig& c = config();
  if (segs.empty()) fail("forward: empty batch");
  std::unordered_set<const Cache*> seen;
  std::vector<int64_t> sizes;
  rows_ = BatchRows{};
  for (size_t i = 0; i < segs.size(); ++i) {
    const Segment& s = segs[i];
    if (s.n <= 0 || !s.ids) fail("forward: segment ", i, " has no tokens");
    if (s.pos < 0) fail("forward: segment ", i, " starts at negative position ", s.pos);
    for (int64_t t = 0; t < s.n; ++t)
      if (s.ids[t] < 0 || s.ids[t] >= c.vocab_size)
        fail("token id ", s.ids[t], " at position ", t, " of segment ", i, " is outside [0, ", c.vocab_size, ")");
    if (s.cache) {
      if (save) fail("forward: segment ", i, " continues a cache; a training forward takes fresh segments only");
      if (s.cache->layers.size() != w_->layers.size()) fail("forward: segment ", i, "'s cache is for another model");
      if (s.pos != s.cache->n_past())
        fail("forward: segment ", i, " starts at position ", s.pos, " but its cache holds ", s.cache->n_past(),
             " tokens");
      if (!seen.insert(s.cache).second) fail("forward: two segments of one batch share a cache");
    }
    rows_.row0.push_back(rows_.rows);
    rows_.rows += s.n;
    sizes.push_back(s.n);
    if (!s.cache) {
      auto& runs = rows_.fresh_runs;
      const bool extend = !runs.empty() && runs.back().first + runs.back().count == i && segs[runs.back().first].n == s.n;
      if (extend) ++runs.back().count;
      else runs.push_back({i, 1});
    }
  }
  segs_.assign(segs.begin(), segs.end());
  rows_.segs = segs_;
  rows_.groups = plan_row_groups(sizes, grouping, stack_long_rows());
  for (const Segment& s : segs_)
    if (s.cache) s.cache->reserve(s.pos + s.n);
}

void Model::run_layers(bool save) {
  const ModelConfig& c = config();
  const int64_t N = rows_.rows, D = c.hidden_size;
  x_.resize(size_t(N * D));
  for (size_t i = 0; i < segs_.size(); ++i)
    for (int64_t t = 0; t < segs_[i].n; ++t)
      weight_row_f32(w_->embed, segs_[i].ids[t], x_.data() + (rows_.row0[i] + t) * D);
  if (save) saved_.resize(w_->layers.size());
  saved_valid_ = false;
  for (size_t l = 0; l < w_->layers.size(); ++l) {
    const LayerWeights& L = w_->layers[l];
    const LayerCtx ctx{c, L, l, rows_, save, scratch_};
    LayerActs& A = save ? saved_[l] : acts_;
    const bool gdn = L.kind == LayerKind::GDN;
    PhaseProfile::Scope ps(gdn ? "gdn layer fwd" : "attn layer fwd");
    if (gdn) gdn_layer_forward(ctx, A, x_.data());
    else attention_layer_forward(ctx, A, x_.data());
  }
  for (const Segment& s : segs_)
    if (s.cache) s.cache->n_past_ = s.pos + s.n;
  saved_valid_ = save;
}

void Model::forward(std::span<const Segment> segs, float* logits, RowGrouping grouping) {
  const ModelConfig& c = config();
  const int64_t D = c.hidden_size;
  prepare(segs, grouping, false);
  run_layers(false);
  // Final norm and lm_head only on the rows asked for; their grouping follows each segment's own row count.
  std::vector<int64_t> counts;
  int64_t R = 0;
  for (const Segment& s : segs_) counts.push_back(logit_count(s));
  for (int64_t n : counts) R += n;
  if (R == 0) return;
  hl_.resize(size_t(R * D));
  int64_t r = 0;
  for (size_t i = 0; i < segs_.size(); ++i) {
    const int64_t first = rows_.row0[i] + segs_[i].n - counts[i];
    std::copy_n(x_.data() + first * D, counts[i] * D, hl_.data() + r * D);
    r += counts[i];
  }
  rmsnorm(hl_.data(), w_->final_norm, hl_.data(), R, D, float(c.rms_norm_eps));
  project(plan_row_groups(counts, grouping, stack_long_rows()), hl_.data(), D, w_->lm_head, logits, c.vocab_size);
}

void Model::forward(const int32_t* ids, int64_t T, Cache& cache, float* logits, bool last_only) {
  const Segment s{ids, T, cache.n_past(), &cache, last_only ? LogitRows::Last : LogitRows::All};
  forward(std::span<const Segment>(&s, 1), logits);
}

const std::vector<float>& Model::forward_train(std::span<const Segment> segs, bool save) {
  const ModelConfig& c = config();
  prepare(segs, RowGrouping::Stacked, save);
  run_layers(save);
  const int64_t N = rows_.rows, D = c.hidden_size;
  if (save) xf_ = x_;
  hf_.resize(size_t(N * D));
  rmsnorm(x_.data(), w_->final_norm, hf_.data(), N, D, float(c.rms_norm_eps));
  return hf_;
}

void Model::backward(const float* dhidden, ParamTensors& grads) {
  if (!saved_valid_) fail("backward: no saved forward (call forward_train with save first)");
  const ModelConfig& c = config();
  HYB_ASSERT(grads.layers.size() == w_->layers.size());
  const int64_t N = rows_.rows, D = c.hidden_size;
  std::vector<float>& dx = x_;  // the residual stream's buffer now carries its gradient
  rmsnorm_backward<float>(xf_.data(), w_->final_norm, dhidden, dx.data(), grads.final_norm, N, D,
                          float(c.rms_norm_eps));
  for (size_t l = w_->layers.size(); l-- > 0;) {
    const LayerWeights& L = w_->layers[l];
    const LayerCtx ctx{c, L, l, rows_, true, scratch_};
    const bool gdn = L.kind == LayerKind::GDN;
    PhaseProfile::Scope ps(gdn ? "gdn layer bwd" : "attn layer bwd");
    if (gdn) gdn_layer_backward(ctx, saved_[l], dx.data(), grads.layers[l]);
    else attention_layer_backward(ctx, saved_[l], dx.data(), grads.layers[l]);
  }
  for (size_t i = 0; i < segs_.size(); ++i)
    for (int64_t t = 0; t < segs_[i].n; ++t) {
      float* e = grads.embed + int64_t(segs_[i].ids[t]) * D;
      const float* g = dx.data() + (rows_.row0[i] + t) * D;
      for (int64_t j = 0; j < D; ++j) e[j] += g[j];
    }
  saved_valid_ = false;
}

}  // namespace hyb
