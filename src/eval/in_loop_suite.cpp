#include "eval/in_loop_suite.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "eval/mc_suite.h"
#include "tokenizer/tokenizer.h"

namespace hyb {

namespace fs = std::filesystem;

InLoopEvaluator make_in_loop_suite(const std::string& suite_path, int64_t max_items, const std::string& tokenizer) {
  const fs::path tj = fs::is_directory(tokenizer) ? fs::path(tokenizer) / "tokenizer.json" : fs::path(tokenizer);
  std::error_code ec;
  if (!fs::exists(tj, ec)) fail(suite_path, ": eval_suite needs a tokenizer; ", tj.string(), " not found");
  auto tok = std::make_shared<Tokenizer>(Tokenizer::load(tj.string()));
  const std::vector<McTaskSpec> specs = load_mc_suite(suite_path);
  McEvalOptions base;
  base.pmi = false;  // the unconditional pass doubles the work; only a task reported by pmi needs it
  for (const McTaskSpec& s : specs) base.pmi |= s.primary == "pmi";
  // Loading now checks every file before the first step; the ids of pre-tokenized items are checked against the
  // model's vocabulary when the tasks are loaded again at the first evaluation (the model is built later).
  auto tasks = std::make_shared<std::vector<McTask>>();
  for (const McTaskSpec& s : specs) tasks->push_back(load_mc_task(s, 0, base, max_items));
  return [=, checked = std::make_shared<bool>(false)](GradModel& gm) {
    if (!*checked) {
      if (tok->vocab_size() > gm.config().vocab_size)
        fail(tj.string(), ": eval_suite tokenizer has ", tok->vocab_size(), " ids but the model only ",
             gm.config().vocab_size);
      tasks->clear();
      for (const McTaskSpec& s : specs) tasks->push_back(load_mc_task(s, gm.config().vocab_size, base, max_items));
      *checked = true;
    }
    std::vector<McTaskResult> results;
    nlohmann::json per_task = nlohmann::json::object(), groups = nlohmann::json::object();
    auto num = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
    for (const McTask& t : *tasks) {
      results.push_back(run_mc_task(gm, tok.get(), t));
      per_task[t.spec.name] = {{"bpb", num(results.back().summary.bpb)},
                               {"acc", num(results.back().primary_accuracy)}};
    }
    InLoopEval out;
    for (const McGroupMean& g : mc_group_means(*tasks, results)) {
      groups[g.group] = {{"bpb", num(g.bpb)}, {"acc", num(g.accuracy)}};
      char b[96];
      std::snprintf(b, sizeof b, " | %s bpb %.3f acc %.3f", g.group.c_str(), g.bpb, g.accuracy);
      out.progress += b;
    }
    out.fields = {{"suite", {{"groups", groups}, {"tasks", per_task}}}};
    return out;
  };
}

}  // namespace hyb
