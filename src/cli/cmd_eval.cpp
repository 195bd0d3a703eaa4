// hybrid eval: perplexity on text or token shards, accuracy on labelled synthetic tasks.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "core/error.h"
#include "core/read_file.h"
#include "core/timer.h"
#include "eval/accuracy.h"
#include "eval/perplexity.h"
#include "synth/synth_data.h"
#include "tokenizer/tokenizer.h"
#include "train/token_shards.h"

namespace hyb::cli {

void add_synth_options(CLI::App& app, SynthSpec& s, std::string& task, std::string& answer);

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

}  // namespace

int run_eval(int argc, char** argv) {
  CLI::App app{"Evaluate a checkpoint. Perplexity: --text FILE (tokenized with --tokenizer or the model's "
               "tokenizer.json) or --shards DIR (a `hybrid prepare` directory; --split val by default), in windows "
               "of --seq tokens, reporting mean NLL, perplexity, bits per byte and top-1 accuracy of the scored "
               "next tokens. Accuracy: --shards DIR of `hybrid synth` data, or --task with the synth flags to "
               "generate --examples fresh examples; only answer positions count, bucketed by position.",
               argv[0]};
  std::string dir, text, tokenizer, shards, split = "val", dtype = "f32", task, answer;
  PerplexityOptions po;
  SynthSpec spec;
  int64_t examples = 500, bucket = 0;
  uint64_t seed = 1;
  bool json = false;
  int threads = 0;
  std::string compute;
  app.add_option("-m,--model", dir, "Checkpoint directory")->required();
  app.add_option("--text", text, "UTF-8 text file: perplexity");
  app.add_option("--tokenizer", tokenizer, "tokenizer.json or its directory (default: the model's)");
  app.add_option("--shards", shards, "Prepared or synthetic data directory");
  app.add_option("--split", split, "Split of --shards")->default_val("val")->check(CLI::IsMember({"train", "val"}));
  app.add_option("--seq", po.seq, "Perplexity window: inputs per forward")->default_val(po.seq)
      ->check(CLI::PositiveNumber);
  app.add_option("--stride", po.stride, "Window step (0 = --seq: disjoint windows; smaller = more context)")
      ->default_val(0)->check(CLI::NonNegativeNumber);
  app.add_option("--max-tokens", po.max_tokens, "Stop after this many scored tokens (0 = all)")->default_val(0)
      ->check(CLI::NonNegativeNumber);
  add_synth_options(app, spec, task, answer);
  app.add_option("--examples", examples, "--task: examples to generate")->default_val(examples)
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "--task: seed of the generated examples (training data used 0)")->default_val(1);
  app.add_option("--bucket", bucket, "Accuracy per range of this many positions (0 = 1/8 of the longest example)")
      ->default_val(0)->check(CLI::NonNegativeNumber);
  add_weight_dtype(app, dtype, "f32");
  app.add_flag("--json", json, "Print one JSON object instead of text");
  add_threads(app, threads);
  add_compute(app, compute, "exact");
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  set_threads(threads);
  apply_compute(compute);
  const int sources = int(!text.empty()) + int(!shards.empty()) + int(!task.empty());
  if (sources != 1) fail("give exactly one of --text, --shards or --task (see --help)");

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
