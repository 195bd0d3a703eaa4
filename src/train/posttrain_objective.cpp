#include "train/posttrain_objective.h"

#include <memory>

#include "core/error.h"

namespace hyb {

std::vector<std::vector<size_t>> pack_rows(const std::vector<int64_t>& lengths, int64_t pack) {
  std::vector<std::vector<size_t>> out;
  int64_t used = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    if (out.empty() || (pack > 0 && used + lengths[i] > pack)) {
      out.emplace_back();
      used = 0;
    }
    out.back().push_back(i);
    used += lengths[i];
  }
  return out;
}

namespace {

std::vector<ScoredSeq> seqs_of(const std::vector<const ScoredRow*>& rows, const std::vector<size_t>& idx) {
  std::vector<ScoredSeq> s;
  for (size_t i : idx) s.push_back({rows[i]->ids.data(), rows[i]->targets.data(), int64_t(rows[i]->ids.size())});
  return s;
}

// grads += w · part
void add_scaled(ParamTensors& grads, const ParamTensors& part, double w) {
  float* g = grads.data();
  const float* p = part.data();
  const float fw = float(w);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < grads.size(); ++i) g[i] += fw * p[i];
}

}  // namespace

LossStats sft_loss(GradModel& gm, const std::vector<const ScoredRow*>& rows, int64_t pack, ParamTensors* grads) {
  std::vector<int64_t> len;
  int64_t total = 0;
  for (const ScoredRow* r : rows) {
    len.push_back(int64_t(r->ids.size()));
    total += r->scored();
  }
  const auto mbs = pack_rows(len, pack);
  std::unique_ptr<ParamTensors> part;
  if (grads && mbs.size() > 1) {
    grads->zero();
    part = std::make_unique<ParamTensors>(gm.config());
  }
  LossStats out;
  double ce = 0;
  for (const auto& mb : mbs) {
    const auto s = seqs_of(rows, mb);
    const LossStats ls = !grads ? gm.loss(s) : gm.loss_and_grads(s, part ? *part : *grads);
    ce += ls.loss * double(ls.count);
    out.count += ls.count;
    // Each micro-batch's gradient is of its own token mean: weight it by its share of the batch's targets.
    if (part && total) add_scaled(*grads, *part, double(ls.count) / double(total));
  }
  out.loss = out.count ? ce / double(out.count) : 0.0;
  return out;
}

SeqLogps row_logps(GradModel& gm, const std::vector<const ScoredRow*>& rows, int64_t pack) {
  std::vector<int64_t> len;
  for (const ScoredRow* r : rows) len.push_back(int64_t(r->ids.size()));
  SeqLogps out;
  for (const auto& mb : pack_rows(len, pack)) {
    const SeqLogps lp = gm.logps(seqs_of(rows, mb));
    out.logp.insert(out.logp.end(), lp.logp.begin(), lp.logp.end());
    out.count.insert(out.count.end(), lp.count.begin(), lp.count.end());
  }
  return out;
}

PrefMetrics pref_loss(GradModel& gm, const std::vector<const ScoredRow*>& seqs, const SeqLogps* ref,
                      const PrefLossConfig& cfg, int64_t pack, ParamTensors* grads) {
  if (seqs.size() % 2) fail("preference batch: odd number of sequences");
  const size_t P = seqs.size() / 2;
  std::vector<int64_t> len;  // per pair
  for (size_t p = 0; p < P; ++p) len.push_back(int64_t(seqs[2 * p]->ids.size() + seqs[2 * p + 1]->ids.size()));
  const auto mbs = pack_rows(len, pack);
  std::unique_ptr<ParamTensors> part;
  if (grads && mbs.size() > 1) {
    grads->zero();
    part = std::make_unique<ParamTensors>(gm.config());
  }
  PrefMetrics total;
  for (const auto& mb : mbs) {
    std::vector<size_t> idx;
    SeqLogps mref;
    for (size_t p : mb)
      for (size_t k : {2 * p, 2 * p + 1}) {
        idx.push_back(k);
        if (ref) {
          mref.logp.push_back(ref->logp[k]);
          mref.count.push_back(ref->count[k]);
        }
      }
    const auto s = seqs_of(seqs, idx);
    PrefMetrics m;
    if (grads) {
      gm.objective_and_grads(s, part ? *part : *grads, [&](const SeqLogps& lp, std::vector<double>& d) {
        m = preference_loss(cfg, lp, ref ? &mref : nullptr, &d);
        return m.loss;
      });
    } else {
      m = preference_loss(cfg, gm.logps(s), ref ? &mref : nullptr, nullptr);
    }
    const double w = double(mb.size()) / double(P);  // the batch loss is the mean over all pairs
    if (part) add_scaled(*grads, *part, w);
    for (auto [a, b] : {std::pair{&total.loss, m.loss}, {&total.reward_chosen, m.reward_chosen},
                        {&total.reward_rejected, m.reward_rejected}, {&total.accuracy, m.accuracy},
                        {&total.margin, m.margin}, {&total.logp_chosen, m.logp_chosen},
                        {&total.logp_rejected, m.logp_rejected}})
      *a += w * b;
  }
  total.pairs = int64_t(P);
  return total;
}

}  // namespace hyb
