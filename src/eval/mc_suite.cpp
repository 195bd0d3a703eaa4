#include "eval/mc_suite.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_parse.h"
#include "core/read_file.h"
#include "core/timer.h"

namespace hyb {

namespace fs = std::filesystem;

McNorm parse_mc_norm(const std::string& s) {
  for (McNorm n : kMcNorms)
    if (s == mc_norm_name(n)) return n;
  fail("unknown normalisation '", s, "' (none | token | char | pmi)");
}

std::vector<McTaskSpec> default_mc_suite(const std::string& bench_dir) {
  std::vector<McTaskSpec> out;
  for (const char* name : {"wn_example_cloze", "wn_gloss", "wn_hypernym", "wn_antonym", "capitals", "moby_lambada",
                           "moby_next_sentence", "moby_word_order"}) {
    McTaskSpec t;
    t.name = name;
    if (t.name.rfind("moby_", 0) == 0) t.group = "language";
    // LAMBADA passages are their own context (40-200 words): zero-shot, as LAMBADA is usually scored, where five
    // shots would make every sequence six passages long.
    t.shots = t.name == "moby_lambada" ? 0 : 5;
    t.data = (fs::path(bench_dir) / (t.name + ".jsonl")).string();
    t.dev = (fs::path(bench_dir) / (t.name + ".dev.jsonl")).string();
    std::error_code ec;
    if (!fs::exists(t.data, ec))
      fail(t.data, ": not found; build the benchmarks with scripts/build-mc-benchmarks.py ", bench_dir,
           " (or pass --bench-dir)");
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<McTaskSpec> load_mc_suite(const std::string& path) {
  const nlohmann::json root = read_json_file(path, size_t(16) << 20);
  (void)JsonFields(root, path);  // fails, naming the file, unless the top level is an object
  if (!root.contains("tasks") || !root["tasks"].is_array() || root["tasks"].empty())
    fail(path, ": 'tasks' must be a non-empty array");
  const fs::path dir = fs::path(path).parent_path();
  std::vector<McTaskSpec> out;
  for (size_t i = 0; i < root["tasks"].size(); ++i) {
    const JsonFields f(root["tasks"][i], str(path, ": tasks[", i, "]"));
    McTaskSpec t;
    t.name = f.string("name", "");
    if (t.name.empty()) fail(f.where(), ": 'name' must be a non-empty string");
    const std::string data = f.string("data", "");
    if (data.empty()) fail(f.where(), ": 'data' must name a JSONL file");
    t.data = (dir / data).string();
    if (f.has("dev")) t.dev = (dir / f.string("dev", "")).string();
    t.format = f.string("format", "rc");
    if (t.format != "rc" && t.format != "mc") fail(f.where(), ": 'format' must be rc or mc");
    t.shots = f.integer("shots", 0, 0, 64);
    t.primary = f.string("primary", t.format == "mc" ? "none" : "char");
    if (t.primary != "none" && t.primary != "token" && t.primary != "char" && t.primary != "pmi")
      fail(f.where(), ": 'primary' must be none, token, char or pmi");
    t.group = f.string("group", "knowledge");
    out.push_back(std::move(t));
  }
  return out;
}

McTask load_mc_task(const McTaskSpec& s, int64_t vocab, const McEvalOptions& base, int64_t max_items) {
  McTask t;
  t.spec = s;
  t.opt = base;
  t.opt.prompt.format = parse_mc_format(s.format);
  t.opt.shots = s.shots;
  t.items = load_mc_jsonl(s.data, vocab);
  if (!s.dev.empty()) {
    t.dev = load_mc_jsonl(s.dev, vocab);
    t.shots_from = s.dev;
  } else if (s.shots > 0) {
    if (s.shots >= int64_t(t.items.size()))
      fail(s.data, ": --shots ", s.shots, " leaves no item to score (", t.items.size(), " items); pass --dev");
    auto idx = draw_shots(t.items.size(), s.shots, t.opt.seed);
    std::sort(idx.begin(), idx.end());
    std::vector<McItem> rest;
    for (size_t i = 0, k = 0; i < t.items.size(); ++i) {
      if (k < idx.size() && idx[k] == i) {
        t.dev.push_back(std::move(t.items[i]));
        ++k;
      } else {
        rest.push_back(std::move(t.items[i]));
      }
    }
    t.items = std::move(rest);
    t.opt.seed = 0;  // dev now holds exactly the drawn shots; any draw of all of them is the same set
    t.shots_from = s.data + " (held out)";
  }
  if (max_items > 0 && int64_t(t.items.size()) > max_items) t.items.resize(size_t(max_items));
  return t;
}

McTaskResult run_mc_task(GradModel& gm, const Tokenizer* tok, const McTask& t,
                         const std::function<void(size_t, size_t)>& progress) {
  Timer clock;
  McTaskResult r;
  r.scores = score_mc(gm, t.items, t.dev, tok, t.opt, progress);
  r.summary = summarize(r.scores);
  r.primary_accuracy = r.summary.accuracy[int(parse_mc_norm(t.spec.primary))];
  r.seconds = clock.seconds();
  return r;
}

std::vector<McGroupMean> mc_group_means(const std::vector<McTask>& tasks, const std::vector<McTaskResult>& results) {
  std::vector<McGroupMean> out;
  for (size_t i = 0; i < tasks.size() && i < results.size(); ++i) {
    const std::string& g = tasks[i].spec.group;
    auto it = std::find_if(out.begin(), out.end(), [&](const McGroupMean& m) { return m.group == g; });
    if (it == out.end()) it = out.insert(out.end(), McGroupMean{g});
    const double bpb = results[i].summary.bpb, acc = results[i].primary_accuracy;
    if (std::isnan(bpb) || std::isnan(acc)) continue;
    it->bpb += bpb;
    it->accuracy += acc;
    ++it->tasks;
  }
  for (McGroupMean& m : out)
    if (m.tasks) {
      m.bpb /= m.tasks;
      m.accuracy /= m.tasks;
    } else {
      m.bpb = m.accuracy = std::nan("");
    }
  return out;
}

}  // namespace hyb
