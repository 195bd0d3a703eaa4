// A suite of multiple-choice tasks, loaded once and scored on any model: `hybrid eval --suite` and the trainer's
// in-loop downstream evaluation (run config "eval_suite") share it. Results are per task and as group means; the
// group "knowledge" (WordNet and capitals, scripts/build-mc-benchmarks.py) is the MMLU-analog: the mean of the
// correct answers' bits per byte, which moves long before accuracy leaves chance (OLMES, DataDecide).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eval/mc_items.h"
#include "eval/multiple_choice.h"
#include "train/grad_model.h"

namespace hyb {

// One task as a suite names it (paths already resolved).
struct McTaskSpec {
  std::string name, group = "knowledge", primary = "char";  // primary: the normalisation the suite reports
  std::string data, dev, format = "rc";
  int64_t shots = 0;
};

McNorm parse_mc_norm(const std::string& s);  // none | token | char | pmi

// The tasks scripts/build-mc-benchmarks.py writes into bench_dir: RC, 5-shot from each dev split (LAMBADA
// zero-shot), per character; groups "knowledge" and "language". fail()s when a task file is missing.
std::vector<McTaskSpec> default_mc_suite(const std::string& bench_dir);
// {"tasks": [{"name", "data", "dev"?, "format"?: rc|mc, "shots"?, "primary"?, "group"?}, ...]}, paths relative to
// the file. fail()s naming the file and the field.
std::vector<McTaskSpec> load_mc_suite(const std::string& path);

// A task with its items in memory. Without a dev split, K shots are drawn from the data and not scored.
struct McTask {
  McTaskSpec spec;
  std::vector<McItem> items, dev;
  McEvalOptions opt;
  std::string shots_from = "none";
};
// `base` gives pack, seed, pmi and max length; the spec gives format and shots. max_items > 0 keeps the first
// max_items test items (the files are shuffled when built, so this is a random subset, the same every time).
McTask load_mc_task(const McTaskSpec& s, int64_t vocab, const McEvalOptions& base, int64_t max_items = 0);

struct McTaskResult {
  McSummary summary;
  std::vector<McItemScore> scores;
  double primary_accuracy = 0;  // summary.accuracy under spec.primary (NaN when unavailable)
  double seconds = 0;
};
McTaskResult run_mc_task(GradModel& gm, const Tokenizer* tok, const McTask& t,
                         const std::function<void(size_t, size_t)>& progress = {});

// Means over a group's tasks of the correct-answer BPB and the primary accuracy (tasks where either is NaN are
// left out), in the order the groups first appear.
struct McGroupMean {
  std::string group;
  int tasks = 0;
  double bpb = 0, accuracy = 0;
};
std::vector<McGroupMean> mc_group_means(const std::vector<McTask>& tasks, const std::vector<McTaskResult>& results);

}  // namespace hyb
