// hybrid logps: per row of an SFT or preference JSONL, the summed log-prob of its scored tokens and their count.
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "cli/posttrain_args.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "train/posttrain_objective.h"

namespace hyb::cli {

namespace {
// Whether a JSONL file holds preference rows: its first non-blank line has chosen/chosen_ids.
bool is_preference(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(path, ": cannot open");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail(path, ":1: invalid JSON row");
    return j.contains("chosen") || j.contains("chosen_ids");
  }
  fail(path, ": empty file");
}
}  // namespace

int run_logps(int argc, char** argv) {
  CLI::App app{"Per row of a JSONL dataset, the summed log-probability of its scored tokens and their count: SFT "
               "rows give {\"logp\", \"tokens\"} (assistant tokens, or labels != -100), preference rows give "
               "{\"chosen_logp\", \"chosen_tokens\", \"rejected_logp\", \"rejected_tokens\"} (the completions)",
               argv[0]};
  std::string dir, data, out;
  int64_t pack = 8192;
  PostTrainArgs pa;
  app.add_option("-m,--model", dir, "Checkpoint directory")->required();
  app.add_option("--data", data, "JSONL rows (SFT or preference; the kind is read from the first row)")->required();
  app.add_option("-o,--out", out, "Output JSONL, one line per kept row")->required();
  app.add_option("--pack", pack, "Tokens per forward pass (rows packed, each its own sequence; 0 = all rows in "
                 "one pass)")->default_val(pack)->check(NonNegative);
  pa.add(app);
  RunFlags run;
  run.add(app, "exact");
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  run.apply();

  const Weights w = Weights::load(dir, WeightDType::F32);
  GradModel gm(w);
  const auto tok = pa.load_tokenizer(dir);
  const auto opts = pa.options(w.config().vocab_size);
  PostTrainDataStats st;
  std::string text;
  if (is_preference(data)) {
    const auto pairs = load_pref_jsonl(data, tok.get(), opts, &st);
    std::vector<const ScoredRow*> seqs;
    for (const auto& p : pairs) {
      seqs.push_back(&p.chosen);
      seqs.push_back(&p.rejected);
    }
    const SeqLogps lp = row_logps(gm, seqs, pack);
    for (size_t p = 0; p < pairs.size(); ++p)
      text += nlohmann::json{{"chosen_logp", lp.logp[2 * p]}, {"chosen_tokens", lp.count[2 * p]},
                             {"rejected_logp", lp.logp[2 * p + 1]}, {"rejected_tokens", lp.count[2 * p + 1]}}
                  .dump() + "\n";
  } else {
    const auto rows = load_sft_jsonl(data, tok.get(), opts, &st);
    std::vector<const ScoredRow*> rp;
    for (const auto& r : rows) rp.push_back(&r);
    const SeqLogps lp = row_logps(gm, rp, pack);
    for (size_t i = 0; i < rows.size(); ++i)
      text += nlohmann::json{{"logp", lp.logp[i]}, {"tokens", lp.count[i]}}.dump() + "\n";
  }
  AtomicFile f(out);
  f.write(text.data(), text.size());
  f.commit();
  std::fprintf(stderr, "%s: %s; wrote %s\n", data.c_str(), st.summary().c_str(), out.c_str());
  return 0;
}

}  // namespace hyb::cli
