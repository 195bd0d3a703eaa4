#include "train/posttrain.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <random>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/threads.h"
#include "core/timer.h"
#include "model/weights.h"
#include "train/posttrain_objective.h"

namespace hyb {

namespace fs = std::filesystem;

size_t epoch_row(uint64_t seed, size_t n, int64_t pos) {
  // One cached permutation per epoch seen last (steps walk forward, so this is computed once per epoch).
  static thread_local std::map<std::pair<uint64_t, int64_t>, std::vector<size_t>> cache;
  const int64_t epoch = pos / int64_t(n);
  auto key = std::make_pair(seed ^ (uint64_t(n) << 32), epoch);
  auto it = cache.find(key);
  if (it == cache.end()) {
    if (cache.size() > 4) cache.clear();
    std::vector<size_t> perm(n);
    std::iota(perm.begin(), perm.end(), size_t(0));
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + uint64_t(epoch) + 1);
    for (size_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[rng() % i]);  // Fisher-Yates, portable
    it = cache.emplace(key, std::move(perm)).first;
  }
  return it->second[size_t(pos % int64_t(n))];
}

namespace {

// FNV-1a of a file's bytes: identifies the data (and the reference weights) in resume checks and the cache key.
// A run asks for the same files several times (identity, reference cache key); a checkpoint is read once per
// (path, size, mtime).
std::string file_hash(const std::string& path) {
  static std::map<std::string, std::string> memo;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  const auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
  const std::string key = path + "|" + std::to_string(size) + "|" + std::to_string(mtime);
  if (!ec)
    if (auto it = memo.find(key); it != memo.end()) return it->second;
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open");
  uint64_t h = 1469598103934665603ull;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    for (std::streamsize i = 0; i < in.gcount(); ++i) h = (h ^ uint8_t(buf[size_t(i)])) * 1099511628211ull;
  }
  char s[20];
  std::snprintf(s, sizeof s, "%016llx", static_cast<unsigned long long>(h));
  if (!ec) memo[key] = s;
  return s;
}

std::string dir_hash(const std::string& dir) {
  std::string h;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".safetensors" || e.path().filename() == "config.json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) h += f.filename().string() + ":" + file_hash(f.string()) + ";";
  return h;
}

PostTrainDataOptions data_options(const RunConfig& rc, int64_t vocab) {
  PostTrainDataOptions o;
  o.max_len = rc.max_len;
  o.drop_long = rc.drop_long;
  o.skip_bad = rc.skip_bad;
  o.vocab_size = vocab;
  return o;
}

int64_t row_tokens(const ScoredRow& r) { return int64_t(r.ids.size()); }

class SftObjective : public Objective {
 public:
  SftObjective(const RunConfig& rc, std::vector<ScoredRow> rows, std::vector<ScoredRow> val)
      : rc_(rc), rows_(std::move(rows)), val_(std::move(val)) {}
  Step step(int64_t step, BatchPart part, GradModel& gm, ParamTensors& grads) override {
    std::vector<const ScoredRow*> batch;
    Step s;
    const int64_t n = rc_.batch / part.count;
    for (int64_t i = part.index * n; i < (part.index + 1) * n; ++i) {
      batch.push_back(&rows_[epoch_row(rc_.seed, rows_.size(), step * rc_.batch + i)]);
      s.tokens += row_tokens(*batch.back());
    }
    const LossStats ls = sft_loss(gm, batch, rc_.pack, &grads);
    s.loss = ls.loss;
    s.weight = double(ls.count);
    s.counts["scored_tokens"] = ls.count;
    return s;
  }
  bool has_validation() const override { return !val_.empty(); }
  double validate(GradModel& gm) override {
    std::vector<const ScoredRow*> all;
    for (const auto& r : val_) all.push_back(&r);
    return sft_loss(gm, all, rc_.pack > 0 ? rc_.pack : 8192, nullptr).loss;
  }

 private:
  const RunConfig& rc_;
  std::vector<ScoredRow> rows_, val_;
};

class DpoObjective : public Objective {
 public:
  DpoObjective(const RunConfig& rc, std::vector<PrefRow> pairs, SeqLogps ref, std::vector<PrefRow> val,
               SeqLogps val_ref)
      : rc_(rc), pairs_(std::move(pairs)), ref_(std::move(ref)), val_(std::move(val)), val_ref_(std::move(val_ref)) {
    cfg_.kind = parse_pref_loss(rc.loss);
    cfg_.beta = rc.beta;
    cfg_.label_smoothing = rc.label_smoothing;
    cfg_.gamma_ratio = rc.gamma_ratio;
  }
  Step step(int64_t step, BatchPart part, GradModel& gm, ParamTensors& grads) override {
    std::vector<const ScoredRow*> seqs;
    SeqLogps ref;
    Step s;
    const int64_t n = rc_.batch / part.count;
    s.weight = double(n);
    for (int64_t i = part.index * n; i < (part.index + 1) * n; ++i) {
      const size_t p = epoch_row(rc_.seed, pairs_.size(), step * rc_.batch + i);
      seqs.push_back(&pairs_[p].chosen);
      seqs.push_back(&pairs_[p].rejected);
      s.tokens += row_tokens(pairs_[p].chosen) + row_tokens(pairs_[p].rejected);
      if (!ref_.logp.empty())
        for (size_t k : {2 * p, 2 * p + 1}) {
          ref.logp.push_back(ref_.logp[k]);
          ref.count.push_back(ref_.count[k]);
        }
    }
    const PrefMetrics m = pref_loss(gm, seqs, ref_.logp.empty() ? nullptr : &ref, cfg_, rc_.pack, &grads);
    s.loss = m.loss;
    s.metrics = {{"rewards/chosen", m.reward_chosen},   {"rewards/rejected", m.reward_rejected},
                 {"rewards/accuracies", m.accuracy},    {"rewards/margins", m.margin},
                 {"logps/chosen", m.logp_chosen},       {"logps/rejected", m.logp_rejected}};
    return s;
  }
  std::string progress(const nlohmann::json& m) const override {
    char p[64];
    std::snprintf(p, sizeof p, " | acc %.2f | margin %.3f", m.value("rewards/accuracies", 0.0),
                  m.value("rewards/margins", 0.0));
    return p;
  }
  bool has_validation() const override { return !val_.empty(); }
  double validate(GradModel& gm) override {
    std::vector<const ScoredRow*> seqs;
    for (const auto& p : val_) {
      seqs.push_back(&p.chosen);
      seqs.push_back(&p.rejected);
    }
    const PrefMetrics m = pref_loss(gm, seqs, val_ref_.logp.empty() ? nullptr : &val_ref_, cfg_,
                                    rc_.pack > 0 ? rc_.pack : 8192, nullptr);
    last_val_accuracy = m.accuracy;
    return m.loss;
  }
  double last_val_accuracy = NAN;

 private:
  const RunConfig& rc_;
  PrefLossConfig cfg_;
  std::vector<PrefRow> pairs_;
  SeqLogps ref_;
  std::vector<PrefRow> val_;
  SeqLogps val_ref_;
};

std::vector<const ScoredRow*> pair_seqs(const std::vector<PrefRow>& pairs) {
  std::vector<const ScoredRow*> s;
  for (const auto& p : pairs) {
    s.push_back(&p.chosen);
    s.push_back(&p.rejected);
  }
  return s;
}

// Reference log-probs of every sequence, from OUT/<name> when its key matches, else computed and cached.
SeqLogps reference_logps(const RunConfig& rc, const std::vector<PrefRow>& pairs, const std::string& data_path,
                         const std::string& name, bool quiet) {
  const std::string ref_dir = rc.ref.empty() ? rc.init_from : rc.ref;
  const nlohmann::json key = {{"reference", dir_hash(ref_dir)}, {"data", file_hash(data_path)},
                              {"max_len", rc.max_len},          {"drop_long", rc.drop_long},
                              {"skip_bad", rc.skip_bad},        {"tokenizer", rc.tokenizer}};
  const fs::path cache = fs::path(rc.out) / name;
  if (fs::exists(cache)) {
    std::ifstream in(cache);
    const auto j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_discarded() && j.value("key", nlohmann::json()) == key && j["logp"].size() == 2 * pairs.size()) {
      SeqLogps out;
      out.logp = j["logp"].get<std::vector<double>>();
      out.count = j["count"].get<std::vector<int64_t>>();
      if (!quiet) std::fprintf(stderr, "reference log-probs: %s (cached)\n", cache.string().c_str());
      return out;
    }
  }
  Timer t;
  const Weights rw = Weights::load(ref_dir, WeightDType::F32);
  GradModel rg(rw);
  const SeqLogps out = row_logps(rg, pair_seqs(pairs), rc.pack > 0 ? rc.pack : 8192);
  const std::string text = nlohmann::json{{"key", key}, {"logp", out.logp}, {"count", out.count}}.dump() + "\n";
  AtomicFile f(cache.string());
  f.write(text.data(), text.size());
  f.commit();
  if (!quiet)
    std::fprintf(stderr, "reference log-probs: %zu sequences from %s in %.1f s, cached in %s\n", out.logp.size(),
                 ref_dir.c_str(), t.seconds(), cache.string().c_str());
  return out;
}

}  // namespace

int posttrain(RunConfig rc, PostTrainKind kind, const TrainOptions& opt) {
  const bool dpo = kind == PostTrainKind::Dpo;
  const char* what = dpo ? "dpo" : "sft";
  if (rc.init_from.empty()) fail(what, ": the run config needs \"init_from\" (the checkpoint to start from)");
  if (!rc.model.is_null())
    fail(what, ": \"model\" is not used here (the model is init_from's); remove it from the run config");
  if (rc.threads > 0) set_threads(rc.threads);
  const ModelConfig cfg = ModelConfig::load((fs::path(rc.init_from) / "config.json").string());
  const std::string tok_path = Tokenizer::default_path(rc.tokenizer, rc.init_from);
  std::unique_ptr<Tokenizer> tok;
  if (!tok_path.empty()) tok = std::make_unique<Tokenizer>(Tokenizer::load(tok_path));
  const PostTrainDataOptions dopt = data_options(rc, cfg.vocab_size);
  PostTrainDataStats st, vst;

  std::unique_ptr<Objective> obj;
  size_t rows = 0;
  int64_t longest = 0;
  std::string val_desc;
  if (!dpo) {
    auto data = load_sft_jsonl(rc.data, tok.get(), dopt, &st);
    std::vector<ScoredRow> val;
    if (!rc.val_data.empty()) val = load_sft_jsonl(rc.val_data, tok.get(), dopt, &vst);
    rows = data.size();
    for (const auto& r : data) longest = std::max(longest, row_tokens(r));
    obj = std::make_unique<SftObjective>(rc, std::move(data), std::move(val));
  } else {
    auto data = load_pref_jsonl(rc.data, tok.get(), dopt, &st);
    std::vector<PrefRow> val;
    if (!rc.val_data.empty()) val = load_pref_jsonl(rc.val_data, tok.get(), dopt, &vst);
    rows = data.size();
    for (const auto& p : data) longest = std::max(longest, row_tokens(p.chosen) + row_tokens(p.rejected));
    Communicator& comm = opt.comm ? *opt.comm : world();
    const int64_t parts = int64_t(comm.size()) * std::max<int64_t>(opt.grad_accum, 1);
    check_memory(cfg, rc.pack > 0 ? std::max(rc.pack, longest) : longest * std::max<int64_t>(rc.batch / parts, 1),
                 comm.size(), parts, comm.local_size());  // before the reference runs
    std::error_code ec;
    fs::create_directories(rc.out, ec);
    SeqLogps ref, val_ref;
    if (needs_reference(parse_pref_loss(rc.loss))) {
      // Rank 0 computes (or finds) and caches them; the other ranks then read its cache.
      for (int pass = 0; pass < 2; ++pass) {
        if ((comm.rank() == 0) == (pass == 0)) {
          const bool q = opt.quiet || comm.rank() != 0;
          ref = reference_logps(rc, data, rc.data, "ref_logps.json", q);
          if (!val.empty()) val_ref = reference_logps(rc, val, rc.val_data, "ref_logps_val.json", q);
        }
        if (pass == 0) comm.barrier();
      }
    }
    obj = std::make_unique<DpoObjective>(rc, std::move(data), std::move(ref), std::move(val), std::move(val_ref));
  }
  const int64_t per_epoch = (int64_t(rows) + rc.batch - 1) / rc.batch;
  if (!rc.steps_given) rc.steps = rc.epochs * per_epoch;
  if (rc.warmup_ratio > 0) rc.warmup = std::min(rc.steps, int64_t(std::llround(rc.warmup_ratio * double(rc.steps))));
  rc.validate();

  TrainLoop loop{rc, cfg, rc.posttrain_identity(dpo), {}, rc.init_from, 0, {}};
  loop.identity["kind"] = what;
  loop.identity["model"] = cfg.resolved_json();
  loop.identity["init_from"] = dir_hash(rc.init_from);
  loop.identity["data"] = file_hash(rc.data);
  if (dpo) loop.identity["reference"] = needs_reference(parse_pref_loss(rc.loss)) ? dir_hash(rc.ref.empty() ? rc.init_from : rc.ref) : "";
  loop.tokens_per_pass = [&rc, longest](int64_t n) { return rc.pack > 0 ? std::max(rc.pack, longest) : longest * n; };
  loop.init_params = [&](ParamTensors& params) { params.copy_from(Weights::load(rc.init_from, WeightDType::F32)); };
  loop.banner = str(what, " data: ", st.summary(), rc.val_data.empty() ? "" : str(" (val: ", vst.summary(), ")"),
                    "; batch ", rc.batch, dpo ? " pairs" : " rows", ", ", per_epoch, " steps per epoch, ", rc.steps,
                    " steps");
  return run_training(loop, *obj, opt);
}

}  // namespace hyb
