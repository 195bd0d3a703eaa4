#include "train/grad_model.h"

#include "core/error.h"
#include "core/phase_profile.h"
#include "kernels/lm_head_loss.h"

namespace hyb {

GradModel::GradModel(const Weights& w) : w_(w), model_(&w) {
  if (w.matrix_dtype != DType::F32 || w.embed.dtype != DType::F32)
    fail("training needs F32 weights in memory (load the checkpoint with dtype f32)");
}

void GradModel::build(const int32_t* ids, int64_t B, int64_t T, const int32_t* given) {
  const int64_t V = w_.config().vocab_size, N = B * T;
  if (T < 2) fail("need at least 2 tokens per sequence for a next-token loss (got T=", T, ")");
  // Token ids are checked against the vocabulary by the model core, segment by segment.
  segs_.clear();
  targets_.resize(size_t(N));
  for (int64_t b = 0; b < B; ++b) {
    const int32_t* row = ids + b * T;
    int64_t start = 0;
    for (int64_t t = 0; t < T; ++t) {
      const bool end = t + 1 == T || (doc_eos_ >= 0 && row[t] == doc_eos_);
      int32_t& tg = targets_[size_t(b * T + t)];
      if (given) {
        if (given[b * T + t] >= V) fail("target id ", given[b * T + t], " at position ", b * T + t, " is outside [0, ", V, ")");
        tg = given[b * T + t] < 0 ? -1 : given[b * T + t];
      } else {
        tg = t + 1 < T ? row[t + 1] : -1;
      }
      if (doc_eos_ >= 0 && row[t] == doc_eos_) tg = -1;  // the next token belongs to another document
      if (end) {
        segs_.push_back(Segment{row + start, t + 1 - start, 0, nullptr, LogitRows::None});
        start = t + 1;
      }
    }
  }
}

void GradModel::build(std::span<const ScoredSeq> seqs) {
  const int64_t V = w_.config().vocab_size;
  segs_.clear();
  targets_.clear();
  seq_end_.clear();
  for (const ScoredSeq& q : seqs) {
    if (q.n < 1) fail("empty sequence in a post-training batch");
    for (int64_t t = 0; t < q.n; ++t) {
      const int32_t tg = q.targets[t];
      if (tg >= V) fail("target id ", tg, " at position ", t, " is outside [0, ", V, ")");
      targets_.push_back(tg < 0 ? -1 : tg);
    }
    segs_.push_back(Segment{q.ids, q.n, 0, nullptr, LogitRows::None});
    seq_end_.push_back(int64_t(targets_.size()));
  }
}

SeqLogps GradModel::head_logps(const std::vector<float>& h) {
  const ModelConfig& c = w_.config();
  const int64_t N = int64_t(targets_.size());
  row_ce_.assign(size_t(N), 0.0);
  LmHeadLossArgs<float> la{h.data(), N, c.hidden_size, w_.lm_head.f32(), c.vocab_size, targets_.data(), 0.0};
  la.row_ce = row_ce_.data();
  la.products = w_.lm_head.products;
  lm_head_loss(la);
  SeqLogps out;
  int64_t r = 0;
  for (int64_t end : seq_end_) {
    double lp = 0;
    int64_t n = 0;
    for (; r < end; ++r)
      if (targets_[size_t(r)] >= 0) {
        lp -= row_ce_[size_t(r)];
        ++n;
      }
    out.logp.push_back(lp);
    out.count.push_back(n);
  }
  return out;
}

LossStats GradModel::loss_and_grads(std::span<const ScoredSeq> seqs, ParamTensors& grads) {
  build(seqs);
  return run(&grads, 0.0);
}

LossStats GradModel::loss(std::span<const ScoredSeq> seqs) {
  build(seqs);
  return run(nullptr, 0.0);
}

SeqLogps GradModel::logps(std::span<const ScoredSeq> seqs) {
  build(seqs);
  return head_logps(model_.forward_train(segs_, false));
}

double GradModel::objective_and_grads(std::span<const ScoredSeq> seqs, ParamTensors& grads, const SeqObjective& f,
                                      SeqLogps* out) {
  build(seqs);
  const ModelConfig& c = w_.config();
  const std::vector<float>& h = model_.forward_train(segs_, true);
  SeqLogps lp = head_logps(h);
  std::vector<double> dlogp(lp.logp.size(), 0.0);
  const double value = f(lp, dlogp);
  // d f / d ce_row = −d f / d logp_seq for every scored row of the sequence (logp = −Σ ce).
  const int64_t N = int64_t(targets_.size()), D = c.hidden_size;
  row_scale_.assign(size_t(N), 0.0);
  int64_t r = 0;
  for (size_t s = 0; s < seq_end_.size(); ++s)
    for (; r < seq_end_[s]; ++r) row_scale_[size_t(r)] = -dlogp[s];
  grads.zero();
  dh_.resize(size_t(N * D));
  LmHeadLossArgs<float> la{h.data(), N, D, w_.lm_head.f32(), c.vocab_size, targets_.data(), 0.0};
  la.row_scale = row_scale_.data();
  la.products = w_.lm_head.products;
  la.dh = dh_.data();
  la.dW = grads.lm_head;
  lm_head_loss(la);
  model_.backward(dh_.data(), grads);
  if (out) *out = std::move(lp);
  return value;
}

LossStats GradModel::run(ParamTensors* grads, double z_loss) {
  const ModelConfig& c = w_.config();
  const bool backward = grads != nullptr;
  const std::vector<float>* h;
  {
    PhaseProfile::Scope ps("forward (all)");
    h = &model_.forward_train(segs_, backward);
  }
  const int64_t N = int64_t(targets_.size()), D = c.hidden_size;
  int64_t count = 0;
  for (int32_t t : targets_) count += t >= 0;
  const double inv = count ? 1.0 / double(count) : 0.0;
  if (backward) {
    grads->zero();
    dh_.resize(size_t(N * D));
  }
  LmHeadLossArgs<float> la{h->data(), N, D, w_.lm_head.f32(), c.vocab_size, targets_.data(), inv,
                           backward ? z_loss : 0.0};
  la.dh = backward ? dh_.data() : nullptr;
  la.products = w_.lm_head.products;
  la.dW = backward ? grads->lm_head : nullptr;
  PhaseProfile::Scope ps_head("lm_head+CE fwd+bwd");
  const LmHeadLossResult r = lm_head_loss(la);
  ps_head.stop();
  if (backward) {
    PhaseProfile::Scope ps_bwd("backward (all)");
    model_.backward(dh_.data(), *grads);
  }
  LossStats s;
  s.count = count;
  s.loss = r.ce_sum * inv;
  s.z_mean = r.z_sum * inv;
  return s;
}

LossStats GradModel::loss(const int32_t* ids, int64_t B, int64_t T, const int32_t* targets) {
  build(ids, B, T, targets);
  return run(nullptr, 0.0);
}

LossStats GradModel::loss_and_grads(const int32_t* ids, int64_t B, int64_t T, ParamTensors& grads, double z_loss,
                                    const int32_t* targets) {
  HYB_ASSERT(grads.layers.size() == w_.layers.size());
  build(ids, B, T, targets);
  return run(&grads, z_loss);
}

}  // namespace hyb
