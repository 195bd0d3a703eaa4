// hybrid eval: perplexity on text or token shards, accuracy on labelled synthetic tasks, multiple choice.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "core/error.h"
#include "core/atomic_file.h"
#include "core/json_parse.h"
#include "core/read_file.h"
#include "core/timer.h"
#include "eval/accuracy.h"
#include "eval/mc_suite.h"
#include "eval/multiple_choice.h"
#include "eval/perplexity.h"
#include "eval/ruler.h"
#include "infer/session.h"
#include "synth/synth_data.h"
#include "tokenizer/tokenizer.h"
#include "train/token_shards.h"

namespace hyb::cli {

void add_synth_options(CLI::App& app, SynthSpec& s, std::string& task, std::string& answer, bool with_mc);

namespace {

namespace fs = std::filesystem;

std::vector<int32_t> token_bytes(const Tokenizer& tok, int64_t vocab) {
  std::vector<int32_t> b(static_cast<size_t>(vocab), 0);
  std::string s;
  for (int32_t id = 0; id < std::min<int64_t>(vocab, tok.vocab_size()); ++id) {
    if (tok.is_added(id)) continue;  // special tokens (EOS) are not text: no bytes
    s.clear();
    try {
      tok.decode_append(id, s);
    } catch (const Error&) {
      continue;  // ids without a token (gaps in the vocabulary) decode to nothing
    }
    b[size_t(id)] = int32_t(s.size());
  }
  return b;
}

void check_ids(const std::vector<int32_t>& ids, int64_t V, const std::string& what) {
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= V)
      fail(what, ": token ", ids[i], " at ", i, " is outside the model's vocabulary (", V, ")");
}

nlohmann::json accuracy_json(const AccuracyResult& r) {
  nlohmann::json b = nlohmann::json::array();
  for (const auto& k : r.buckets)
    if (k.total)
      b.push_back({{"lo", k.lo}, {"hi", k.hi}, {"accuracy", double(k.correct) / double(k.total)}, {"answers", k.total}});
  return {{"accuracy", r.accuracy()},
          {"answers", r.total},
          {"examples", r.examples},
          {"exact_match", r.examples ? double(r.exact) / double(r.examples) : 0.0},
          {"final_accuracy", r.examples ? double(r.final_correct) / double(r.examples) : 0.0},
          {"mean_nll", r.total ? r.nll_sum / double(r.total) : 0.0},
          {"buckets", b}};
}

struct McArgs {
  std::string data, dev, format = "rc", per_item;
  McEvalOptions opt;
  bool no_pmi = false;
};

nlohmann::json num_or_null(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

// The model's tokenizer.json, or null when the directory has none (pre-tokenized items only).
std::unique_ptr<Tokenizer> model_tokenizer(const std::string& dir, int64_t V) {
  const fs::path tj = fs::path(dir) / "tokenizer.json";
  std::error_code ec;
  if (!fs::exists(tj, ec)) return nullptr;
  auto tok = std::make_unique<Tokenizer>(Tokenizer::load(tj.string()));
  if (tok->vocab_size() > V) fail(tj.string(), ": tokenizer has ", tok->vocab_size(), " ids but the model only ", V);
  return tok;
}

// The JSON summary of one scored task (the per-task rows of a suite too).
nlohmann::json mc_json(const McTask& t, const McTaskResult& r) {
  const McSummary& m = r.summary;
  nlohmann::json acc;
  for (McNorm n : kMcNorms) acc[mc_norm_name(n)] = num_or_null(m.accuracy[int(n)]);
  return {{"task", "mc"},          {"data", t.spec.data},   {"format", t.spec.format},
          {"shots", t.opt.shots},  {"shots_from", t.shots_from},
          {"items", m.items},      {"accuracy", acc},       {"chance", m.chance},
          {"answer_bpb", num_or_null(m.bpb)},              {"answer_logp", m.answer_logp},
          {"seconds", r.seconds}};
}

McTask load_task(const McArgs& a, const McTaskSpec& s, int64_t V) {
  McEvalOptions base = a.opt;
  base.pmi = !a.no_pmi;
  return load_mc_task(s, V, base);
}

McTaskResult score_task(GradModel& gm, const Tokenizer* tok, const McTask& t, bool quiet) {
  Timer clock;
  double last = 0;
  return run_mc_task(gm, tok, t, [&](size_t done, size_t total) {
    if (quiet || clock.seconds() - last < 5) return;
    last = clock.seconds();
    std::fprintf(stderr, "  %zu/%zu items, %.0f s\n", done, total, last);
  });
}

// Multiple choice: scores every item of a.data and returns the summary (and writes --per-item).
nlohmann::json eval_mc(GradModel& gm, const Tokenizer* tok, const McArgs& a, bool quiet) {
  McTaskSpec spec;
  spec.data = a.data;
  spec.dev = a.dev;
  spec.format = a.format;
  spec.shots = a.opt.shots;
  const McTask t = load_task(a, spec, gm.config().vocab_size);
  const McTaskResult r = score_task(gm, tok, t, quiet);
  if (!a.per_item.empty()) {
    std::string text;
    for (size_t i = 0; i < r.scores.size(); ++i) {
      const McItemScore& s = r.scores[i];
      nlohmann::json ch = nlohmann::json::array(), pred;
      for (const auto& c : s.choices)
        ch.push_back({{"logp", c.logp}, {"tokens", c.tokens}, {"bytes", c.bytes}, {"chars", c.chars},
                      {"uncond_logp", num_or_null(c.uncond_logp)}});
      for (McNorm n : kMcNorms) pred[mc_norm_name(n)] = s.predict(n);
      text += nlohmann::json{{"id", t.items[i].id}, {"answer", s.answer}, {"predicted", pred},
                             {"answer_bpb", num_or_null(s.answer_bpb())}, {"choices", ch}}.dump() + "\n";
    }
    AtomicFile f(a.per_item);
    f.write(text.data(), text.size());
    f.commit();
  }
  return mc_json(t, r);
}

void print_mc(const nlohmann::json& r) {
  std::printf("%s: %ld items, %s format, %ld-shot (chance %.3f)\n", r["data"].get<std::string>().c_str(),
              long(r["items"].get<int64_t>()), r["format"].get<std::string>().c_str(), long(r["shots"].get<int64_t>()),
              r["chance"].get<double>());
  std::printf("  accuracy:");
  for (const char* n : {"none", "token", "char", "pmi"}) {
    const auto& v = r["accuracy"][n];
    if (v.is_null()) std::printf("  %s -", n);
    else std::printf("  %s %.4f", n, v.get<double>());
  }
  std::printf("\n  correct answer: %.4f bits/byte, mean log-likelihood %.4f | %.1f s\n",
              r["answer_bpb"].is_null() ? std::nan("") : r["answer_bpb"].get<double>(),
              r["answer_logp"].get<double>(), r["seconds"].get<double>());
}


nlohmann::json run_suite(const std::string& dir, const std::vector<McTaskSpec>& specs, const McArgs& base,
                         bool quiet) {
  const Weights w = Weights::load(dir, WeightDType::F32);
  GradModel gm(w);
  const auto tok = model_tokenizer(dir, w.config().vocab_size);
  std::vector<McTask> tasks;
  for (const McTaskSpec& s : specs) tasks.push_back(load_task(base, s, w.config().vocab_size));
  nlohmann::json rows = nlohmann::json::array();
  std::vector<McTaskResult> results;
  Timer clock;
  for (const McTask& t : tasks) {
    if (!quiet) std::fprintf(stderr, "suite: %s ...\n", t.spec.name.c_str());
    results.push_back(score_task(gm, tok.get(), t, quiet));
    nlohmann::json r = mc_json(t, results.back());
    r["name"] = t.spec.name;
    r["group"] = t.spec.group;
    r["primary"] = t.spec.primary;
    r["primary_accuracy"] = num_or_null(results.back().primary_accuracy);
    rows.push_back(std::move(r));
  }
  nlohmann::json groups = nlohmann::json::object();
  for (const McGroupMean& g : mc_group_means(tasks, results))
    if (g.tasks)
      groups[g.group] = {{"tasks", g.tasks}, {"mean_answer_bpb", g.bpb}, {"mean_primary_accuracy", g.accuracy}};
  return {{"model", dir}, {"tasks", rows}, {"groups", groups}, {"seconds", clock.seconds()}};
}

void print_suite(const nlohmann::json& r) {
  std::printf("%-18s %6s %4s %5s %7s  %7s %7s %7s %7s  %8s %6s %7s\n", "task", "items", "fmt", "shots", "chance",
              "none", "token", "char", "pmi", "bpb", "prim", "s");
  auto cell = [](const nlohmann::json& v) {
    if (v.is_null()) return std::string("-");
    char b[32];
    std::snprintf(b, sizeof b, "%.4f", v.get<double>());
    return std::string(b);
  };
  for (const auto& t : r["tasks"]) {
    std::printf("%-18s %6ld %4s %5ld %7.4f  %7s %7s %7s %7s  %8s %6s %7.1f\n", t["name"].get<std::string>().c_str(),
                long(t["items"].get<int64_t>()), t["format"].get<std::string>().c_str(), long(t["shots"].get<int64_t>()),
                t["chance"].get<double>(), cell(t["accuracy"]["none"]).c_str(), cell(t["accuracy"]["token"]).c_str(),
                cell(t["accuracy"]["char"]).c_str(), cell(t["accuracy"]["pmi"]).c_str(), cell(t["answer_bpb"]).c_str(),
                t["primary"].get<std::string>().c_str(), t["seconds"].get<double>());
  }
  for (auto it = r["groups"].begin(); it != r["groups"].end(); ++it)
    std::printf("%s (%ld tasks): mean correct-answer BPB %.4f, mean primary accuracy %.4f\n", it.key().c_str(),
                long(it.value()["tasks"].get<int64_t>()), it.value()["mean_answer_bpb"].get<double>(),
                it.value()["mean_primary_accuracy"].get<double>());
}


struct RulerArgs {
  std::string tasks = "all", lengths = "512,1024,2048", haystack;
  int64_t examples = 20;
  bool no_generate = false;
};

std::vector<int64_t> parse_lengths(const std::string& s) {
  std::vector<int64_t> out;
  size_t i = 0;
  while (i <= s.size()) {
    const size_t j = std::min(s.find(',', i), s.size());
    const std::string part = s.substr(i, j - i);
    if (part.empty() || part.size() > 9 || part.find_first_not_of("0123456789") != std::string::npos)
      fail("--length: '", part, "' is not a token count (e.g. 512,2048,8192)");
    out.push_back(std::stoll(part));
    if (out.back() < 64) fail("--length: ", out.back(), " is below 64 tokens");
    i = j + 1;
  }
  return out;
}

// RULER: per task and length, forced-choice accuracy (the first target against decoys, by log-likelihood),
// the right choice's bits per byte, and RULER's string_match_all of a greedy answer.
nlohmann::json eval_ruler(const std::string& dir, const RulerArgs& a, uint64_t seed, bool quiet) {
  const Weights w = Weights::load(dir, WeightDType::F32);
  GradModel gm(w);
  Model model(&w);
  const auto tok = model_tokenizer(dir, w.config().vocab_size);
  if (!tok) fail(dir, ": RULER needs the model's tokenizer.json");
  if (a.haystack.empty()) fail("--task ruler needs --haystack FILE (real text: the needles hide in it)");
  const RulerHaystack sentences(split_sentences(read_file(a.haystack, "--haystack")));
  std::vector<RulerTask> tasks;
  if (a.tasks == "all") tasks.assign(std::begin(kRulerTasks), std::end(kRulerTasks));
  else tasks.push_back(parse_ruler_task(a.tasks));
  const auto eos = tok->stop_ids(false);
  nlohmann::json rows = nlohmann::json::array();
  Timer clock;
  for (int64_t L : parse_lengths(a.lengths)) {
    if (L > w.config().max_position_embeddings && !quiet)
      std::fprintf(stderr, "ruler: length %ld is past the model's max_position_embeddings %ld (extrapolation)\n",
                   long(L), long(w.config().max_position_embeddings));
    for (RulerTask t : tasks) {
      Timer tt;
      std::vector<McItem> items;
      double match = 0;
      int64_t prompt_tokens = 0;
      std::string too_short;
      for (int64_t e = 0; e < a.examples && too_short.empty(); ++e) {
        RulerItem r;
        try {
          r = make_ruler_item(t, L, sentences, *tok, seed, uint64_t(e));
        } catch (const RulerTooShort& err) {
          too_short = err.what();  // this task does not fit this length: a row that says so, the rest still run
          break;
        }
        prompt_tokens += r.prompt_tokens;
        McItem it;
        it.id = str(ruler_task_name(t), "@", L, "#", e);
        it.context = r.prompt;
        it.choices = r.choices;
        it.answer = r.answer;
        items.push_back(std::move(it));
        if (!a.no_generate) {
          Session s(model);
          std::vector<float> logits = s.prefill(tok->encode(r.prompt));
          std::vector<int32_t> out;
          for (int64_t k = 0; k < r.max_new_tokens; ++k) {
            const int32_t next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
            if (std::find(eos.begin(), eos.end(), next) != eos.end()) break;
            out.push_back(next);
            logits = s.step(next);
          }
          match += string_match_all(tok->decode(out), r.targets);
        }
      }
      if (!too_short.empty()) {
        if (!quiet) std::fprintf(stderr, "ruler: %s\n", too_short.c_str());
        rows.push_back({{"task", ruler_task_name(t)}, {"length", L}, {"skipped", too_short}});
        continue;
      }
      McEvalOptions o;
      o.pmi = false;
      o.prompt.max_len = L;
      const McSummary m = summarize(score_mc(gm, items, {}, tok.get(), o));
      nlohmann::json row = {{"task", ruler_task_name(t)}, {"length", L}, {"examples", a.examples},
                            {"mean_prompt_tokens", double(prompt_tokens) / double(a.examples)},
                            {"forced_choice_accuracy", m.accuracy[int(McNorm::None)]}, {"chance", m.chance},
                            {"answer_bpb", num_or_null(m.bpb)}, {"seconds", tt.seconds()}};
      row["string_match"] = a.no_generate ? nlohmann::json(nullptr) : nlohmann::json(100.0 * match / double(a.examples));
      if (!quiet)
        std::fprintf(stderr, "ruler: %s at %ld tokens: forced choice %.3f, %.1f s\n", ruler_task_name(t), long(L),
                     m.accuracy[int(McNorm::None)], tt.seconds());
      rows.push_back(std::move(row));
    }
  }
  return {{"model", dir}, {"task", "ruler"}, {"haystack", a.haystack}, {"seed", seed}, {"rows", rows},
          {"seconds", clock.seconds()}};
}

void print_ruler(const nlohmann::json& r) {
  std::printf("%-16s %7s %8s %8s %7s %8s %8s %7s\n", "task", "length", "prompt", "choice", "chance", "bpb", "match",
              "s");
  for (const auto& x : r["rows"]) {
    if (x.contains("skipped")) {
      std::printf("%-16s %7ld  skipped: too short for the task's fixed text\n", x["task"].get<std::string>().c_str(),
                  long(x["length"].get<int64_t>()));
      continue;
    }
    std::printf("%-16s %7ld %8.0f %8.3f %7.3f %8.4f %8s %7.1f\n", x["task"].get<std::string>().c_str(),
                long(x["length"].get<int64_t>()), x["mean_prompt_tokens"].get<double>(),
                x["forced_choice_accuracy"].get<double>(), x["chance"].get<double>(),
                x["answer_bpb"].is_null() ? std::nan("") : x["answer_bpb"].get<double>(),
                x["string_match"].is_null() ? "-" : str(int(std::round(x["string_match"].get<double>()))).c_str(),
                x["seconds"].get<double>());
  }
}

}  // namespace

int run_eval(int argc, char** argv) {
  CLI::App app{"Evaluate a checkpoint. Perplexity: --text FILE (tokenized with --tokenizer or the model's "
               "tokenizer.json) or --shards DIR (a `hybrid prepare` directory; --split val by default), in windows "
               "of --seq tokens, reporting mean NLL, perplexity, bits per byte and top-1 accuracy of the scored "
               "next tokens. Accuracy: --shards DIR of `hybrid synth` data, or --task with the synth flags to "
               "generate --examples fresh examples; only answer positions count, bucketed by position. Multiple "
               "choice (OLMES): --task mc --data FILE.jsonl, scoring each choice's log-likelihood; reports accuracy "
               "under the normalisations none, token, char and pmi (minus the likelihood after \"Answer:\") and "
               "the correct answer's bits per byte.",
               argv[0]};
  std::string dir, text, tokenizer, shards, split = "val", dtype = "f32", task, answer;
  PerplexityOptions po;
  SynthSpec spec;
  int64_t examples = 500, bucket = 0;
  uint64_t seed = 1;
  bool json = false;
  int threads = 0;
  ComputeFlags compute;
  app.add_option("-m,--model", dir, "Checkpoint directory")->required();
  app.add_option("--text", text, "UTF-8 text file: perplexity");
  app.add_option("--tokenizer", tokenizer, "tokenizer.json or its directory (default: the model's)");
  app.add_option("--shards", shards, "Prepared or synthetic data directory");
  app.add_option("--split", split, "Split of --shards")->default_val("val")->check(CLI::IsMember({"train", "val"}));
  app.add_option("--seq", po.seq, "Perplexity window: inputs per forward")->default_val(po.seq)
      ->check(Positive);
  app.add_option("--stride", po.stride, "Window step (0 = --seq: disjoint windows; smaller = more context)")
      ->default_val(0)->check(NonNegative);
  app.add_option("--max-tokens", po.max_tokens, "Stop after this many scored tokens (0 = all)")->default_val(0)
      ->check(NonNegative);
  add_synth_options(app, spec, task, answer, true);
  McArgs mc;
  app.add_option("--data", mc.data, "--task mc: items, JSONL: {\"question\" or \"context\", \"choices\", \"answer\"} or "
                 "pre-tokenized {\"context_ids\", \"choice_ids\", \"answer\"}");
  app.add_option("--format", mc.format, "--task mc: rc (cloze: each choice's likelihood as a continuation) or mc "
                 "(choices listed with letters, the letter scored)")->default_val("rc")->check(CLI::IsMember({"rc", "mc"}));
  app.add_option("--shots", mc.opt.shots, "--task mc: solved examples before each item, drawn from --dev (or held "
                 "out of --data)")->default_val(0)->check(NonNegative);
  app.add_option("--dev", mc.dev, "--task mc: items to draw the shots from");
  app.add_option("--shot-seed", mc.opt.seed, "--task mc: seed of the shot draw")->default_val(mc.opt.seed);
  app.add_option("--per-item", mc.per_item, "--task mc: write every item's choice scores and predictions (JSONL)");
  app.add_flag("--no-pmi", mc.no_pmi, "--task mc: skip the unconditional pass (no pmi accuracy; about half the work)");
  app.add_option("--max-seq-len", mc.opt.prompt.max_len, "--task mc: tokens per scored sequence; longer contexts lose "
                 "their oldest tokens")->default_val(mc.opt.prompt.max_len)->check(CLI::Range(int64_t(2), int64_t(1) << 30));
  RulerArgs ra;
  app.add_option("--ruler-task", ra.tasks, "--task ruler: niah_single | niah_multikey | niah_multivalue | "
                 "niah_multiquery | vt | cwe | all")->default_val(ra.tasks);
  app.add_option("--length", ra.lengths, "--task ruler: prompt + answer lengths in tokens, comma-separated")
      ->default_val(ra.lengths);
  app.add_option("--haystack", ra.haystack, "--task ruler: real text the needles are hidden in");
  app.add_flag("--no-generate", ra.no_generate, "--task ruler: forced choice only (skip the greedy answers)");
  std::string suite, bench_dir = "mc-benchmarks";
  app.add_option("--suite", suite, "Run a list of multiple-choice tasks and print one table: a suite JSON file "
                 "({\"tasks\": [{\"name\", \"data\", \"dev\", \"format\", \"shots\", \"primary\", \"group\"}]}, "
                 "paths relative to it) or 'default' (the tasks of scripts/build-mc-benchmarks.py in --bench-dir, "
                 "RC, 5-shot, per-char)");
  app.add_option("--bench-dir", bench_dir, "--suite default: where scripts/build-mc-benchmarks.py wrote the tasks")
      ->default_val(bench_dir);
  app.add_option("--pack", mc.opt.pack, "--task mc: tokens per forward pass (sequences packed)")
      ->default_val(mc.opt.pack)->check(NonNegative);
  app.add_option("--examples", examples, "--task: examples to generate (ruler: per task and length, default 20)")->default_val(examples)
      ->check(Positive);
  app.add_option("--seed", seed, "--task: seed of the generated examples (training data used 0)")->default_val(1);
  app.add_option("--bucket", bucket, "Accuracy per range of this many positions (0 = 1/8 of the longest example)")
      ->default_val(0)->check(NonNegative);
  add_weight_dtype(app, dtype, "f32");
  app.add_flag("--json", json, "Print one JSON object instead of text");
  add_threads(app, threads);
  compute.add(app, "exact");
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  set_threads(threads);
  compute.apply();
  const int sources = int(!text.empty()) + int(!shards.empty()) + int(!task.empty()) + int(!suite.empty());
  if (sources != 1) fail("give exactly one of --text, --shards, --task or --suite (see --help)");
  if (!suite.empty()) {
    if (dtype != "f32") fail("--suite scores with F32 weights (exact); --dtype ", dtype, " is not supported");
    const auto specs = suite == "default" ? default_mc_suite(bench_dir) : load_mc_suite(suite);
    const nlohmann::json r = run_suite(dir, specs, mc, json);
    if (json) std::printf("%s\n", r.dump().c_str());
    else print_suite(r);
    return 0;
  }
  if (task == "ruler") {
    if (dtype != "f32") fail("--task ruler scores with F32 weights (exact); --dtype ", dtype, " is not supported");
    ra.examples = app.count("--examples") ? examples : 20;
    const nlohmann::json r = eval_ruler(dir, ra, seed, json);
    if (json) std::printf("%s\n", r.dump().c_str());
    else print_ruler(r);
    return 0;
  }
  if (task == "mc") {
    if (mc.data.empty()) fail("--task mc needs --data FILE.jsonl");
    if (dtype != "f32") fail("--task mc scores with F32 weights (exact); --dtype ", dtype, " is not supported");
    const Weights w = Weights::load(dir, WeightDType::F32);
    GradModel gm(w);
    const auto tok = model_tokenizer(dir, w.config().vocab_size);
    const nlohmann::json r = eval_mc(gm, tok.get(), mc, json);
    if (json) std::printf("%s\n", r.dump().c_str());
    else print_mc(r);
    return 0;
  }
  if (!mc.data.empty()) fail("--data is for --task mc");

  Model model(Weights::load(dir, parse_weight_dtype(dtype)));
  const int64_t V = model.config().vocab_size;
  Timer clock;
  nlohmann::json out = {{"model", dir}};

  auto report_accuracy = [&](const AccuracyResult& r) {
    out.update(accuracy_json(r));
    out["seconds"] = clock.seconds();
    if (json) {
      std::printf("%s\n", out.dump().c_str());
      return;
    }
    std::printf("accuracy %.4f on %ld answers (%ld examples; exact match %.4f, final answer %.4f, mean NLL %.4f) "
                "in %.1f s\n",
                r.accuracy(), long(r.total), long(r.examples), out["exact_match"].get<double>(),
                out["final_accuracy"].get<double>(), out["mean_nll"].get<double>(), clock.seconds());
    for (const auto& b : out["buckets"])
      std::printf("  positions %5ld-%-5ld accuracy %.4f (%ld answers)\n", long(b["lo"].get<int64_t>()),
                  long(b["hi"].get<int64_t>() - 1), b["accuracy"].get<double>(), long(b["answers"].get<int64_t>()));
  };

  if (!task.empty()) {
    spec.task = parse_synth_task(task);
    spec.running = answer == "running";
    spec.validate();
    if (synth_vocab_size(spec) > V)
      fail("--task: the task needs ", synth_vocab_size(spec), " tokens but the model has ", V);
    const int64_t rec = synth_record_length(spec);
    AccuracyCounter acc(model, bucket ? bucket : std::max<int64_t>(1, rec / 8));
    for (int64_t i = 0; i < examples; ++i) {
      const SynthExample e = synth_example(spec, seed, uint64_t(i));
      acc.add(e.ids.data(), e.labels.data(), int64_t(e.ids.size()));
    }
    out["task"] = synth_spec_json(spec);
    out["seed"] = seed;
    report_accuracy(acc.result());
    return 0;
  }

  std::vector<std::vector<int32_t>> streams;
  std::vector<int32_t> bytes;
  bool have_bytes = false;
  if (!shards.empty()) {
    const TokenData data = TokenData::open(shards);
    const TokenSplit& sp = split == "val" ? data.val() : data.train();
    if (sp.tokens() == 0) fail(shards, ": the ", split, " split is empty");
    if (data.vocab_size() > V)
      fail(shards, ": data vocabulary ", data.vocab_size(), " exceeds the model's ", V, " (another tokenizer?)");
    out["shards"] = shards;
    out["split"] = split;
    if (sp.has_labels()) {
      const int64_t rec = sp.record() > 0 ? sp.record() : sp.tokens();
      AccuracyCounter acc(model, bucket ? bucket : std::max<int64_t>(1, rec / 8));
      std::vector<int32_t> ids(static_cast<size_t>(rec)), lab(static_cast<size_t>(rec));
      for (size_t s = 0; s < sp.shards().size(); ++s)
        for (int64_t p = 0; p + rec <= sp.shards()[s].tokens; p += rec) {
          sp.read(s, p, rec, ids.data());
          sp.read_labels(s, p, rec, lab.data());
          acc.add(ids.data(), lab.data(), rec);
          if (po.max_tokens > 0 && acc.result().total >= po.max_tokens) break;
        }
      if (data.manifest().contains("synthetic")) out["task"] = data.manifest()["synthetic"];
      report_accuracy(acc.result());
      return 0;
    }
    for (size_t s = 0; s < sp.shards().size(); ++s) {
      int64_t n = sp.shards()[s].tokens;
      if (po.max_tokens > 0) n = std::min(n, po.max_tokens + po.seq + 1);  // enough for the cap at any stride
      std::vector<int32_t> v(static_cast<size_t>(n));
      sp.read(s, 0, n, v.data());
      streams.push_back(std::move(v));
    }
    const fs::path tj = fs::path(shards) / "tokenizer.json";
    if (fs::exists(tj)) {
      bytes = token_bytes(Tokenizer::load(tj.string()), V);
      have_bytes = true;
    }
  } else {
    std::string tpath = tokenizer.empty() ? (fs::path(dir) / "tokenizer.json").string() : tokenizer;
    if (tokenizer.empty() && !fs::exists(tpath))
      fail(dir, ": no tokenizer.json in the checkpoint; pass --tokenizer");
    const Tokenizer tok = Tokenizer::load(tpath);
    if (tok.vocab_size() > V) fail(tpath, ": tokenizer has ", tok.vocab_size(), " ids but the model only ", V);
    streams.push_back(tok.encode(read_file(text, "--text")));
    check_ids(streams.back(), V, text);
    if (streams.back().size() < 2) fail(text, ": fewer than 2 tokens: nothing to score");
    bytes = token_bytes(tok, V);
    have_bytes = true;
    out["text"] = text;
  }
  PerplexityResult r;
  for (const auto& s : streams) {
    perplexity_stream(model, s.data(), int64_t(s.size()), po, have_bytes ? &bytes : nullptr, r);
    if (po.max_tokens > 0 && r.tokens >= po.max_tokens) break;
  }
  if (r.tokens == 0) fail("no tokens were scored");
  const double secs = clock.seconds(), nll = r.mean_nll();
  out.update(nlohmann::json{{"tokens", r.tokens},
              {"seq", po.seq},
              {"stride", po.stride ? po.stride : po.seq},
              {"mean_nll", nll},
              {"perplexity", std::exp(nll)},
              {"bits_per_token", nll / std::log(2.0)},
              {"top1", double(r.correct) / double(r.tokens)},
              {"seconds", secs},
              {"tokens_per_s", double(r.tokens) / secs}});
  if (have_bytes && r.bytes > 0) {
    out["bytes"] = r.bytes;
    out["bits_per_byte"] = r.nll_sum / std::log(2.0) / r.bytes;
  }
  if (json) {
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  std::printf("mean NLL %.6f nats/token | perplexity %.4f | %.4f bits/token", nll, std::exp(nll), nll / std::log(2.0));
  if (out.contains("bits_per_byte")) std::printf(" | %.4f bits/byte", out["bits_per_byte"].get<double>());
  std::printf(" | top-1 %.4f | %ld tokens in %.1f s (%.0f tok/s)\n", double(r.correct) / double(r.tokens),
              long(r.tokens), secs, double(r.tokens) / secs);
  return 0;
}

}  // namespace hyb::cli
