// hybrid synth: synthetic recall / state-tracking tasks written as labelled token shards for `hybrid train`.
#include <cstdio>

#include <random>

#include "cli/common.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/read_file.h"
#include "core/timer.h"
#include "eval/ruler.h"
#include "synth/synth_data.h"
#include "tokenizer/tokenizer.h"

namespace hyb::cli {

// Task flags shared with `hybrid eval --task`.
void add_synth_options(CLI::App& app, SynthSpec& s, std::string& task, std::string& answer, bool with_mc) {
  if (with_mc)
    app.add_option("--task", task, "mc (multiple choice: --data) | ruler (--haystack) | mqar | parity | s3 | s5 "
                   "(synthetic accuracy)")->check(CLI::IsMember({"mc", "ruler", "mqar", "parity", "s3", "s5"}));
  else
    app.add_option("--task", task, "mqar | parity | s3 | s5 | ruler (text documents)")
        ->check(CLI::IsMember({"mqar", "parity", "s3", "s5", "ruler"}));
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

namespace {

// --task ruler: RULER items with their answers as text documents (blank-line separated) for `hybrid prepare`, to
// mix retrieval into pretraining text so that a base model can learn the tasks it is later scored on.
int write_ruler_text(const std::string& out, const std::string& haystack, const std::string& tokenizer,
                     const std::string& tasks, int64_t min_len, int64_t max_len, int64_t examples, uint64_t seed) {
  if (haystack.empty()) fail("--task ruler needs --haystack FILE (real text: the needles hide in it)");
  if (tokenizer.empty()) fail("--task ruler needs --tokenizer (item lengths are counted in its tokens)");
  if (min_len < 64 || max_len < min_len) fail("--task ruler: need 64 <= --min-len <= --max-len (tokens)");
  const RulerHaystack sentences(split_sentences(read_file(haystack, "--haystack")));
  const Tokenizer tok = Tokenizer::load(tokenizer);
  std::vector<RulerTask> list;
  if (tasks == "all") list.assign(std::begin(kRulerTasks), std::end(kRulerTasks));
  else list.push_back(parse_ruler_task(tasks));
  std::mt19937_64 rng(seed ^ 0x52554c4552ull);  // lengths; the items themselves are seeded by (seed, index)
  std::string text;
  int64_t written = 0, skipped = 0;
  std::vector<int64_t> per_task(list.size(), 0);
  Timer t;
  for (int64_t e = 0; e < examples; ++e) {
    const size_t k = size_t(e) % list.size();
    const int64_t L = std::uniform_int_distribution<int64_t>(min_len, max_len)(rng);
    try {
      text += ruler_training_text(make_ruler_item(list[k], L, sentences, tok, seed, uint64_t(e))) + "\n\n";
      ++written;
      ++per_task[k];
    } catch (const RulerTooShort&) {
      ++skipped;  // this task does not fit in this length (cwe below ~400 tokens)
    }
  }
  AtomicFile f(out);
  f.write(text.data(), text.size());
  f.commit();
  std::printf("wrote %s: %ld RULER training documents of %ld-%ld tokens (", out.c_str(), long(written), long(min_len),
              long(max_len));
  for (size_t k = 0; k < list.size(); ++k) std::printf("%s%s %ld", k ? ", " : "", ruler_task_name(list[k]), long(per_task[k]));
  std::printf("), %ld skipped as too short for their task; %.1f MB, %.1f s\n", long(skipped), double(text.size()) / 1e6,
              t.seconds());
  return 0;
}

}  // namespace

int run_synth(int argc, char** argv) {
  CLI::App app{"Write a synthetic task as a data directory for `hybrid train`: fixed-length records (padded), "
               "a labels stream so the loss and `hybrid eval` accuracy count answer positions only, and the task "
               "spec in manifest.json. Tasks: mqar (multi-query associative recall: BOS k v ... SEP filler q a ...), "
               "parity, s3, s5 (word problem of Z2 / S3 / S5: the answer at each element is the product so far). "
               "Token ids: 0 PAD/EOS, 1 BOS, task tokens from 2. Train with seq_len = record length - 1. ruler: RULER "
               "items (--haystack, --tokenizer; lengths drawn from [--min-len, --max-len] tokens, default 256-512; "
               "--train-examples of them) with their answers, written as a text file of documents for `hybrid "
               "prepare`, to mix retrieval into pretraining text.",
               argv[0]};
  SynthSpec s;
  std::string task, answer, out;
  int64_t train = 10000, val = 500;
  uint64_t seed = 0;
  std::string haystack, tokenizer, ruler_tasks = "all";
  add_synth_options(app, s, task, answer, false);
  app.get_option("--task")->required();
  app.add_option("--out", out, "Output data directory (ruler: a text file)")->required();
  app.add_option("--haystack", haystack, "ruler: real text the needles hide in");
  app.add_option("--tokenizer", tokenizer, "ruler: tokenizer.json (or its directory) that item lengths are counted in");
  app.add_option("--ruler-task", ruler_tasks, "ruler: niah_single | niah_multikey | niah_multivalue | niah_multiquery | "
                 "vt | cwe | all (in turn)")->default_val(ruler_tasks);
  app.add_option("--train-examples", train, "Training examples")->default_val(train);
  app.add_option("--val-examples", val, "Validation examples (an independent stream of the same seed)")
      ->default_val(val);
  app.add_option("--seed", seed, "Seed: the data is a pure function of the flags and the seed")->default_val(0);
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  if (task == "ruler") {
    const int64_t lo = app.count("--min-len") ? s.min_len : 256, hi = app.count("--max-len") ? s.max_len : 512;
    return write_ruler_text(out, haystack, tokenizer, ruler_tasks, lo, hi, train, seed);
  }
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
