#include "eval/multiple_choice.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "core/error.h"
#include "train/posttrain_objective.h"

namespace hyb {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

ScoredRow to_row(const McRequest& r) {
  ScoredRow row;
  row.ids = r.context;
  row.ids.insert(row.ids.end(), r.continuation.begin(), r.continuation.end());
  row.targets.assign(row.ids.size(), -1);
  for (size_t t = r.context.size(); t < row.ids.size(); ++t) row.targets[t - 1] = row.ids[t];
  return row;
}
}  // namespace

const char* mc_norm_name(McNorm n) {
  switch (n) {
    case McNorm::None: return "none";
    case McNorm::Token: return "token";
    case McNorm::Char: return "char";
    case McNorm::Pmi: return "pmi";
  }
  return "?";
}

double McItemScore::score(size_t c, McNorm n) const {
  const McChoiceScore& s = choices.at(c);
  switch (n) {
    case McNorm::None: return s.logp;
    case McNorm::Token: return s.tokens ? s.logp / double(s.tokens) : kNaN;
    case McNorm::Char: return s.chars ? s.logp / double(s.chars) : kNaN;
    case McNorm::Pmi: return std::isnan(s.uncond_logp) ? kNaN : s.logp - s.uncond_logp;
  }
  return kNaN;
}

int McItemScore::predict(McNorm n) const {
  int best = -1;
  double bv = -std::numeric_limits<double>::infinity();
  for (size_t c = 0; c < choices.size(); ++c) {
    const double v = score(c, n);
    if (std::isnan(v)) return -1;
    if (best < 0 || v > bv) best = int(c), bv = v;
  }
  return best;
}

double McItemScore::answer_bpb() const {
  const McChoiceScore& s = choices.at(size_t(answer));
  return s.bytes ? -s.logp / (std::log(2.0) * double(s.bytes)) : kNaN;
}

McSummary summarize(const std::vector<McItemScore>& scores) {
  McSummary m;
  m.items = int64_t(scores.size());
  if (scores.empty()) return m;
  for (McNorm n : kMcNorms) {
    int64_t right = 0;
    bool available = true;
    for (const auto& s : scores) {
      const int p = s.predict(n);
      if (p < 0) available = false;
      right += p == s.answer;
    }
    m.accuracy[int(n)] = available ? double(right) / double(scores.size()) : kNaN;
  }
  for (const auto& s : scores) {
    m.bpb += s.answer_bpb();  // NaN propagates: bytes are known for all items or none
    m.answer_logp += s.choices[size_t(s.answer)].logp;
    m.chance += 1.0 / double(s.choices.size());
  }
  const double n = double(scores.size());
  m.bpb /= n;
  m.answer_logp /= n;
  m.chance /= n;
  return m;
}

std::vector<size_t> draw_shots(size_t pool, int64_t k, uint64_t seed) {
  if (k < 0) fail("--shots must be >= 0, got ", k);
  if (size_t(k) > pool) fail("--shots ", k, " needs at least as many dev items, there are ", pool);
  std::vector<size_t> idx(pool);
  std::iota(idx.begin(), idx.end(), size_t(0));
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < size_t(k); ++i) {  // partial Fisher-Yates: the first k are a uniform draw
    std::uniform_int_distribution<size_t> d(i, pool - 1);
    std::swap(idx[i], idx[d(rng)]);
  }
  idx.resize(size_t(k));
  return idx;
}

std::vector<McItemScore> score_mc(GradModel& gm, const std::vector<McItem>& items, const std::vector<McItem>& dev,
                                  const Tokenizer* tok, const McEvalOptions& o,
                                  const std::function<void(size_t, size_t)>& progress) {
  std::vector<const McItem*> shots;
  for (size_t i : draw_shots(dev.size(), o.shots, o.seed)) shots.push_back(&dev[i]);
  const bool pmi = o.pmi && tok && o.prompt.format == McFormat::RC;
  std::vector<McItemScore> out(items.size());
  // Items go to the model in groups of about `pack` tokens (at least one item), so progress can be shown and
  // memory stays bounded by the group, not the file.
  const int64_t group_tokens = o.pack > 0 ? o.pack : std::numeric_limits<int64_t>::max();
  size_t i = 0;
  while (i < items.size()) {
    std::vector<ScoredRow> rows;
    std::vector<size_t> first_row;  // per item of the group
    int64_t tokens = 0;
    const size_t begin = i;
    while (i < items.size() && (i == begin || tokens < group_tokens)) {
      const McItem& it = items[i];
      const auto reqs = mc_requests(it, shots, tok, o.prompt);
      first_row.push_back(rows.size());
      McItemScore& s = out[i];
      s.answer = it.answer;
      s.choices.resize(reqs.size());
      for (size_t c = 0; c < reqs.size(); ++c) {
        s.choices[c].tokens = int64_t(reqs[c].continuation.size());
        s.choices[c].bytes = reqs[c].bytes;
        s.choices[c].chars = reqs[c].chars;
        s.choices[c].uncond_logp = kNaN;
        rows.push_back(to_row(reqs[c]));
        tokens += int64_t(rows.back().ids.size());
      }
      if (pmi)
        for (const McRequest& r : mc_unconditional(it, *tok, o.prompt)) {
          rows.push_back(to_row(r));
          tokens += int64_t(rows.back().ids.size());
        }
      ++i;
    }
    std::vector<const ScoredRow*> rp;
    for (const auto& r : rows) rp.push_back(&r);
    const SeqLogps lp = row_logps(gm, rp, o.pack);
    for (size_t k = begin; k < i; ++k) {
      McItemScore& s = out[k];
      const size_t r0 = first_row[k - begin], n = s.choices.size();
      for (size_t c = 0; c < n; ++c) {
        s.choices[c].logp = lp.logp[r0 + c];
        if (pmi) s.choices[c].uncond_logp = lp.logp[r0 + n + c];
      }
    }
    if (progress) progress(i, items.size());
  }
  return out;
}

}  // namespace hyb
