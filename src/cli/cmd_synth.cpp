// hybrid synth: synthetic recall / state-tracking tasks written as labelled token shards for `hybrid train`.
#include <cstdio>

#include "cli/common.h"
#include "core/timer.h"
#include "synth/synth_data.h"

namespace hyb::cli {

// Task flags shared with `hybrid eval --task`.
void add_synth_options(CLI::App& app, SynthSpec& s, std::string& task, std::string& answer, bool with_mc) {
  if (with_mc)
    app.add_option("--task", task, "mc (multiple choice: --data) | ruler (--haystack) | mqar | parity | s3 | s5 "
                   "(synthetic accuracy)")->check(CLI::IsMember({"mc", "ruler", "mqar", "parity", "s3", "s5"}));
  else
    app.add_option("--task", task, "mqar | parity | s3 | s5")->check(CLI::IsMember({"mqar", "parity", "s3", "s5"}));
  app.add_option("--min-len", s.min_len,
                 "Shortest example: group elements (parity/s3/s5) or total tokens incl. BOS (mqar)")
      ->default_val(s.min_len);
  app.add_option("--max-len", s.max_len, "Longest example (same unit); every example is padded to it")
      ->default_val(s.max_len);
  app.add_option("--answer", answer, "parity/s3/s5: score the running product at every position, or the final one")
      ->default_val("running")->check(CLI::IsMember({"running", "final"}));
  app.add_option("--pairs", s.pairs, "mqar: key-value pairs per example (the most, with --min-pairs)")
      ->default_val(s.pairs);
  app.add_option("--min-pairs", s.min_pairs,
                 "mqar: draw each example's pair count from [min-pairs, pairs] (0 = always --pairs)")
      ->default_val(s.min_pairs);
  app.add_option("--queries", s.queries, "mqar: keys asked back (0 = all)")->default_val(s.queries);
  app.add_option("--keys", s.keys, "mqar: size of the key vocabulary")->default_val(s.keys);
  app.add_option("--values", s.values, "mqar: size of the value vocabulary")->default_val(s.values);
}

int run_synth(int argc, char** argv) {
  CLI::App app{"Write a synthetic task as a data directory for `hybrid train`: fixed-length records (padded), "
               "a labels stream so the loss and `hybrid eval` accuracy count answer positions only, and the task "
               "spec in manifest.json. Tasks: mqar (multi-query associative recall: BOS k v ... SEP filler q a ...), "
               "parity, s3, s5 (word problem of Z2 / S3 / S5: the answer at each element is the product so far). "
               "Token ids: 0 PAD/EOS, 1 BOS, task tokens from 2. Train with seq_len = record length - 1.",
               argv[0]};
  SynthSpec s;
  std::string task, answer, out;
  int64_t train = 10000, val = 500;
  uint64_t seed = 0;
  add_synth_options(app, s, task, answer, false);
  app.get_option("--task")->required();
  app.add_option("--out", out, "Output data directory")->required();
  app.add_option("--train-examples", train, "Training examples")->default_val(train);
  app.add_option("--val-examples", val, "Validation examples (an independent stream of the same seed)")
      ->default_val(val);
  app.add_option("--seed", seed, "Seed: the data is a pure function of the flags and the seed")->default_val(0);
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  s.task = parse_synth_task(task);
  s.running = answer == "running";
  Timer t;
  const SynthDataStats st = write_synth_data(s, out, train, val, seed);
  std::printf("wrote %s: %s, records of %ld tokens (vocab %d); train %ld tokens, val %ld tokens, %ld answers; "
              "%.2f s\n",
              out.c_str(), task.c_str(), long(st.record), st.vocab_size, long(st.train_tokens), long(st.val_tokens),
              long(st.answers), t.seconds());
  return 0;
}

}  // namespace hyb::cli
