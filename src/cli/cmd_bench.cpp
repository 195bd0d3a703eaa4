// hybrid bench: throughput of training, prefill, decode, the GDN kernel and the tokenizer, each as an aligned
// table or (--json) one JSON object, so scripts can compare runs and other implementations.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <omp.h>

#include "bench/bench_weights.h"
#include "bench/cache_fill.h"
#include "bench/decode_traffic.h"
#include "bench/gdn_flops.h"
#include "bench/memory_info.h"
#include "bench/peak_flops.h"
#include "bench/read_bandwidth.h"
#include "bench/table.h"
#include "bench/train_flops.h"
#include "cli/common.h"
#include "serve/load_test.h"
#include "core/error.h"
#include "core/heap_reuse.h"
#include "core/read_file.h"
#include "core/timer.h"
#include "kernels/gdn.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "train/adamw.h"
#include "train/grad_model.h"
#include "train/trainer.h"

namespace hyb::cli {

namespace {

// Flags every subcommand has.
struct Common {
  int threads = 0;
  int reps = 1;
  int warmup = 1;
  bool json = false;
  uint64_t seed = 1;
  ComputeFlags compute;
};

void add_common(CLI::App& app, Common& c, int reps, int warmup, const char* reps_what, const char* reps_flag = "--reps") {
  add_threads(app, c.threads);
  app.add_option(reps_flag, c.reps, std::string("Timed repetitions") + reps_what)
      ->default_val(reps)
      ->check(Positive);
  app.add_option("--warmup", c.warmup, "Untimed repetitions first")->default_val(warmup)->check(NonNegative);
  app.add_flag("--json", c.json, "Print one JSON object instead of a table");
  app.add_option("--seed", c.seed, "Seed of the random weights and inputs")->default_val(1);
}

void emit(const Common& c, const nlohmann::json& j, const Table& t, const std::string& note) {
  if (c.json) {
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::fputs(t.str().c_str(), stdout);
    if (!note.empty()) std::printf("%s\n", note.c_str());
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / double(v.size());
}

std::vector<int32_t> random_ids(int64_t n, int64_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> d(0, vocab - 1);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (auto& x : ids) x = int32_t(d(rng));
  return ids;
}

std::string gb(double bytes) { return fmt("%.3f", bytes / 1e9); }

// The table names a model by its file or directory name; JSON keeps the path as given.
std::string short_name(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const size_t slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.size() > 5 && base.compare(base.size() - 5, 5, ".json") == 0) base.resize(base.size() - 5);
  return base;
}

// ------------------------------------------------------------------------------------------------- train

int bench_train(int argc, char** argv) {
  CLI::App app{"Training throughput: forward + exact backward + gradient clipping + AdamW on random token ids, "
               "random F32 weights. MFU = model FLOPs (6 per matrix parameter per token, plus causal attention and "
               "GDN state work) / time, against a GEMM peak of the same precision measured in this run and against "
               "the documented peak. --precision both times F32 and BF16 steps alternately and reports their ratio.",
               argv[0]};
  Common c;
  std::string config, precision = "f32";
  int64_t vocab = 100352, B = 8, T = 512;
  double peak_doc = 0;
  int peak_n = 2048;
  app.add_option("-c,--config", config, "HF config.json or run config (RUN.json)")->required();
  app.add_option("--vocab", vocab, "Vocabulary size for run configs (they normally take it from the tokenizer)")
      ->default_val(vocab)
      ->check(Positive);
  app.add_option("-b,--batch", B, "Sequences per step")->default_val(B)->check(Positive);
  app.add_option("--seq", T, "Tokens per sequence")->default_val(T)->check(CLI::Range(int64_t(2), int64_t(1) << 20));
  app.add_option("--precision", precision,
                 "Products of the linear layers and the lm_head: f32, bf16 (mixed precision, as `precision` in a "
                 "run config), or both (alternating steps, one row each and the speed-up)")
      ->default_val(precision)
      ->check(CLI::IsMember({"f32", "bf16", "both"}));
  app.add_option("--peak-gflops", peak_doc, "Documented FP32 peak (default 117 GFLOP/s per thread; BF16 twice that)");
  app.add_option("--peak-n", peak_n, "Size of the GEMM that measures the peak (0 = skip)")
      ->default_val(peak_n)
      ->check(NonNegative);
  add_common(app, c, 3, 1, " (training steps)", "--steps,--reps");
  c.compute.add(app, "fast");
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;

  const int threads = set_threads(c.threads);
  c.compute.apply();
  if (peak_doc <= 0) peak_doc = 117.0 * threads;
  const ModelConfig cfg = load_bench_config(config, vocab);
  const MemoryEstimate mem = estimate_memory(cfg, B, T);
  const double avail = available_ram_bytes();
  if (mem.total() > 0.9 * avail)
    fail(config, ": training batch ", B, " x ", T, " needs about ", mem.total() / 1e9, " GB but only ", avail / 1e9,
         " GB are available; lower --batch or --seq");
  std::vector<Precision> precs;
  if (precision != "bf16") precs.push_back(Precision::F32);
  if (precision != "f32") precs.push_back(Precision::BF16);
  if (precision != "f32" && !bf16_products_available())
    std::fprintf(stderr, "warning: this CPU has no AVX512-BF16: bf16 products fall back to f32\n");

  retain_freed_memory();  // as run_training does: the steps reuse their buffers instead of faulting them in
  auto bw = random_bench_weights(cfg, c.seed);
  ParamTensors& params = *bw->params;
  ParamTensors grads(cfg);
  AdamW adam(cfg, AdamWConfig{});
  // One view per precision of the same parameters: the steps alternate, so both see the same machine state.
  std::vector<Weights> views;
  views.reserve(precs.size());  // the GradModels hold references into it
  for (Precision p : precs) views.push_back(params.view(p));
  std::vector<std::unique_ptr<GradModel>> gms;
  for (const Weights& v : views) gms.push_back(std::make_unique<GradModel>(v));
  std::vector<std::vector<double>> times(precs.size());
  std::vector<LossStats> ls(precs.size());
  for (int s = 0; s < c.warmup + c.reps; ++s) {
    const auto ids = random_ids(B * T, cfg.vocab_size, c.seed * 1000003 + uint64_t(s));
    for (size_t i = 0; i < precs.size(); ++i) {
      Timer t;
      ls[i] = gms[i]->loss_and_grads(ids.data(), B, T, grads);
      clip_grad_norm(grads, 1.0);
      adam.update(params, grads, 1e-4);
      if (s >= c.warmup) times[i].push_back(t.seconds());
    }
  }
  const TrainFlops fl = train_flops_per_token(cfg, T);
  size_t nparams = 0;
  for (size_t i = 0; i < params.specs().size(); ++i) nparams += size_t(params.numel(i));

  Table t({"model", "params", "batch", "threads", "precision", "step ms", "tokens/s", "GFLOP/s", "MFU(meas)",
           "MFU(doc)"});
  nlohmann::json runs = nlohmann::json::array();
  std::string peaks;
  for (size_t i = 0; i < precs.size(); ++i) {
    const Precision p = precs[i];
    const bool bf16 = p == Precision::BF16 && bf16_products_available();
    // Measured after the steps, so the peak and the steps see the same (possibly shared) machine.
    const double peak_meas = peak_n > 0 ? measure_gemm_gflops(peak_n, 3, p) : 0.0;
    const double peak_d = bf16 ? 2 * peak_doc : peak_doc;
    const double step_s = median(times[i]);  // the PyTorch reference reports the median step too
    const double tps = double(B * T) / step_s;
    const double gflops = fl.total() * tps / 1e9;
    runs.push_back({{"bench", "train"},     {"config", config},        {"params", nparams},
                    {"batch", B},           {"seq", T},                {"steps", c.reps},
                    {"warmup", c.warmup},   {"threads", threads},      {"step_s", step_s},
                    {"step_s_mean", mean(times[i])},                   {"compute", compute_name(compute_mode())},
                    {"precision", precision_name(p)},                  {"bf16_products", bf16},
                    {"step_s_min", *std::min_element(times[i].begin(), times[i].end())},
                    {"tokens_per_s", tps},  {"flops_per_token", fl.total()},
                    {"flops_per_token_params", fl.params},            {"flops_per_token_mixing", fl.mixing},
                    {"model_gflops", gflops},
                    {"peak_measured_gflops", peak_meas},              {"peak_documented_gflops", peak_d},
                    {"mfu_measured", peak_meas > 0 ? gflops / peak_meas : 0.0},
                    {"mfu_documented", gflops / peak_d},              {"loss", ls[i].loss},
                    {"peak_rss_bytes", peak_rss_bytes()}});
    t.add({short_name(config), fmt("%.1fM", double(nparams) / 1e6), fmt("%ldx%ld", long(B), long(T)),
           fmt("%d", threads), precision_name(p), fmt("%.1f", step_s * 1e3), fmt("%.1f", tps), fmt("%.1f", gflops),
           peak_meas > 0 ? fmt("%.1f%%", 100 * gflops / peak_meas) : "-", fmt("%.1f%%", 100 * gflops / peak_d)});
    peaks += fmt("%s%s GEMM %.1f GFLOP/s measured (n=%d), %.1f documented; loss %.3f", i ? "; " : "",
                 precision_name(p), peak_meas, peak_n, peak_d, ls[i].loss);
  }
  nlohmann::json j = runs.size() == 1 ? runs[0] : nlohmann::json{{"bench", "train"}, {"runs", runs}};
  std::string tail = fmt("peaks: %s; %.2f GFLOP/token; %d steps after %d warm-up (median)", peaks.c_str(),
                         fl.total() / 1e9, c.reps, c.warmup);
  if (runs.size() == 2) {
    const double r = runs[1]["tokens_per_s"].get<double>() / runs[0]["tokens_per_s"].get<double>();
    j["bf16_speedup"] = r;
    tail += fmt("; bf16 / f32 tokens/s %.2fx", r);
  }
  emit(c, j, t, tail);
  return 0;
}

// ------------------------------------------------------------------------------------------ prefill / decode

int bench_infer(int argc, char** argv, bool decode) {
  CLI::App app{decode ? "Decode throughput: --tokens single-token steps after --context tokens of context "
                        "(tg128 = --context 0 --tokens 128). Also reports bytes moved per token and GB/s."
                      : "Prefill throughput: one forward of --tokens tokens after --context tokens of context "
                        "(pp512 = --context 0 --tokens 512).",
               argv[0]};
  Common c;
  std::string config, model_dir, dtype = "f32", fill = "auto";
  int64_t vocab = 100352, context = 0, tokens = decode ? 128 : 512, ubatch = 512, batch = 1;
  auto* oc = app.add_option("-c,--config", config, "Random weights of this HF config.json or run config (in memory)");
  auto* om = app.add_option("-m,--model", model_dir, "A checkpoint directory instead");
  oc->excludes(om);
  app.add_option("--vocab", vocab, "Vocabulary size for run configs")->default_val(vocab)->check(Positive);
  app.add_option("--dtype", dtype, "Weight matrices: f32 | bf16 | int8 | q4")->default_val(dtype);
  app.add_option("--context", context, "Tokens already in the cache")->default_val(0)->check(NonNegative);
  app.add_option("--tokens", tokens, decode ? "Decode steps timed" : "Tokens in the timed forward")
      ->default_val(tokens)
      ->check(Positive);
  app.add_option("--fill", fill,
                 "How the context gets into the cache: prefill (run it) or random (random K/V and GDN states); "
                 "auto = prefill up to 2048 tokens, else random")
      ->default_val(fill)
      ->check(CLI::IsMember({"auto", "prefill", "random"}));
  app.add_option("--ubatch", ubatch, "Tokens per forward call when prefilling")
      ->default_val(ubatch)
      ->check(Positive);
  if (decode)
    app.add_option("--batch", batch,
                   "Sequences decoded together, one token each per step in one batched forward; above 1 the same "
                   "sequences are also decoded one after another in the same run, and the ratio is reported")
        ->default_val(batch)
        ->check(CLI::Range(int64_t(1), int64_t(256)));
  add_common(app, c, 1, 1, decode ? " (of --tokens steps each)" : "");
  c.compute.add(app, "fast");
  std::string kv_name;
  add_kv_dtype(app, kv_name);
  int64_t probe_mb = decode ? 1024 : 0;
  if (decode)
    app.add_option("--read-probe-mb", probe_mb,
                   "Measure the host's read bandwidth with a buffer of this many MiB before every timed repetition "
                   "and after the last, and report decode's GB/s as a fraction of it: each repetition against the "
                   "faster probe beside it, the median over repetitions (0 = skip)")
        ->default_val(probe_mb)
        ->check(CLI::Range(int64_t(0), int64_t(1) << 20));
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  if (config.empty() == model_dir.empty()) fail(app.get_name(), ": give --config or --model");
  const KvDtype kv = parse_kv_dtype(kv_name);
  if (fill == "auto") fill = context <= 2048 ? "prefill" : "random";
  if (context == 0) fill = "none";

  const int threads = set_threads(c.threads);
  c.compute.apply();
  const ModelConfig cfg = config.empty() ? ModelConfig::load(model_dir + "/config.json") : load_bench_config(config, vocab);
  const std::string source = config.empty() ? model_dir : config;
  if (dtype != "f32" && dtype != "bf16" && dtype != "int8" && dtype != "q4")
    fail("--dtype ", dtype, ": unknown (f32 | bf16 | int8 | q4)");

  // Refuse before allocating. Random weights are built in their dtype (plus one F32 tensor at a time); a
  // checkpoint is loaded as stored (counted as F32 here) and then converted.
  size_t nparams = 0;
  for (const auto& p : canonical_params(cfg)) nparams += p.numel();
  const double weights = config.empty() ? double(nparams) * (dtype == "f32" ? 4.0 : 6.0) : bench_weight_bytes(cfg, dtype);
  const double need = weights + double(batch) * cache_bytes_for(cfg, context + tokens, kv);
  const double avail = available_ram_bytes();
  if (need > 0.9 * avail)
    fail(source, ": context ", context, " + ", tokens, " tokens needs about ", need / 1e9, " GB (cache ",
         cache_bytes_for(cfg, context + tokens, kv) / 1e9, " GB + weights) but only ", avail / 1e9,
         " GB are available; lower --context");

  Timer setup;
  auto bw = config.empty() ? load_bench_weights(model_dir) : random_bench_weights(cfg, c.seed, dtype);
  convert_bench_weights(*bw, dtype);
  Model model(std::move(bw->weights));  // bw keeps owning the converted storage
  model.set_kv_dtype(kv);
  const double setup_s = setup.seconds();

  Cache cache = model.new_cache();
  cache.reserve(context + tokens);
  std::vector<float> logits(size_t(cfg.vocab_size));
  auto run_tokens = [&](const std::vector<int32_t>& ids) {
    for (size_t i = 0; i < ids.size(); i += size_t(ubatch)) {
      const int64_t n = std::min<int64_t>(ubatch, int64_t(ids.size() - i));
      model.forward(ids.data() + i, n, cache, logits.data(), /*last_only=*/true);
    }
  };
  Timer tf;
  if (fill == "prefill") run_tokens(random_ids(context, cfg.vocab_size, c.seed + 17));
  else if (fill == "random") fill_cache_random(cache, cfg, context, tokens, c.seed + 17);
  const double fill_s = tf.seconds();

  const auto ids = random_ids(tokens * batch, cfg.vocab_size, c.seed + 29);
  // Extra sequences start from a copy of the first one's context.
  std::vector<Cache> extra;
  for (int64_t b = 1; b < batch; ++b) {
    extra.push_back(model.new_cache());
    extra.back().reserve(context + tokens);
    extra.back().assign(cache);
  }
  auto seq_cache = [&](int64_t b) -> Cache& { return b == 0 ? cache : extra[size_t(b - 1)]; };
  std::vector<float> batch_logits(size_t(batch * cfg.vocab_size));
  // The read probe runs before every timed repetition and after the last, so each repetition is compared with
  // the bandwidth of its own minutes (this host's read rate has moved by 2x within minutes).
  std::optional<ReadProbe> probe;
  if (probe_mb > 0) probe.emplace(size_t(probe_mb) << 20);
  std::vector<ReadBandwidth> probes;
  auto timed = [&](auto&& body, bool probing) {
    std::vector<double> ts;
    for (int r = 0; r < c.warmup + c.reps; ++r) {
      for (int64_t b = 0; b < batch; ++b) seq_cache(b).set_n_past(context);  // the same context every repetition
      if (probing && r >= c.warmup) probes.push_back(probe->measure());
      Timer t;
      body();
      if (r >= c.warmup) ts.push_back(t.seconds());
    }
    if (probing) probes.push_back(probe->measure());
    return ts;
  };
  std::vector<double> times = timed([&] {
    if (!decode) return run_tokens(ids);  // prefill has batch 1: ids holds exactly the timed tokens
    if (batch == 1) {
      for (int64_t i = 0; i < tokens; ++i) model.forward(&ids[size_t(i)], 1, cache, logits.data(), true);
      return;
    }
    std::vector<Segment> segs(static_cast<size_t>(batch));
    for (int64_t i = 0; i < tokens; ++i) {
      for (int64_t b = 0; b < batch; ++b) {
        Cache& cb = seq_cache(b);
        segs[size_t(b)] = Segment{&ids[size_t(b * tokens + i)], 1, cb.n_past(), &cb};
      }
      model.forward(segs, batch_logits.data());
    }
  }, probe.has_value());  // only decode has the option
  // The same sequences one after another (batch > 1): the baseline that batching is measured against.
  double seq_tps = 0;
  if (decode && batch > 1) {
    const std::vector<double> st = timed([&] {
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t i = 0; i < tokens; ++i)
          model.forward(&ids[size_t(b * tokens + i)], 1, seq_cache(b), logits.data(), true);
    }, false);
    seq_tps = double(batch * tokens) / mean(st);
  }
  const double secs = mean(times);
  const double tps = double(tokens * batch) / secs;
  const double best_tps = double(tokens * batch) / *std::min_element(times.begin(), times.end());

  nlohmann::json j = {{"bench", decode ? "decode" : "prefill"},
                      {"model", source},
                      {"dtype", dtype},
                      {"params", nparams},
                      {"context", context},
                      {"tokens", tokens},
                      {"batch", batch},
                      {"fill", fill},
                      {"fill_s", fill_s},
                      {"setup_s", setup_s},
                      {"threads", threads},
                      {"compute", compute_name(compute_mode())},
                      {"gdn_products", gdn_bf16_selected() && gdn_bf16_available() ? "bf16" : "f32"},
                      {"kv_cache_dtype", kv_dtype_name(kv)},
                      {"reps", c.reps},
                      {"warmup", c.warmup},
                      {"seconds", secs},
                      {"tokens_per_s", tps},
                      {"tokens_per_s_best", best_tps},
                      {"weight_bytes", double(model.weights().resident_bytes())},
                      {"cache_bytes", double(cache.bytes())},
                      {"cache_bytes_used", cache_bytes_for(cfg, context + tokens, kv)},
                      {"peak_rss_bytes", peak_rss_bytes()}};
  const std::string name = decode ? fmt("tg%ld", long(tokens)) : fmt("pp%ld", long(tokens));
  std::vector<std::string> head = {"model", "dtype", "test", "context", "fill", "threads"};
  std::vector<std::string> row = {short_name(source), dtype, name, fmt("%ld", long(context)), fill, fmt("%d", threads)};
  if (batch > 1) {
    head.push_back("batch");
    row.push_back(fmt("%ld", long(batch)));
  }
  head.push_back("tokens/s");
  row.push_back(fmt("%.2f", tps));
  if (decode) {
    // A batched step reads the weights once and every sequence's own K/V and GDN state.
    const DecodeTraffic tr = decode_traffic(model.weights(), context, tokens, kv);
    const double per_token = (tr.weights + double(batch) * (tr.kv + tr.recurrent)) / double(batch);
    j["bytes_per_token"] = per_token;
    j["bytes_per_token_weights"] = tr.weights / double(batch);
    j["bytes_per_token_kv"] = tr.kv;
    j["bytes_per_token_recurrent"] = tr.recurrent;
    j["gb_per_s"] = per_token * tps / 1e9;
    for (auto s : {"MB/token", "GB/s"}) head.push_back(s);
    row.push_back(fmt("%.2f", per_token / 1e6));
    row.push_back(fmt("%.2f", per_token * tps / 1e9));
    if (!probes.empty()) {
      // Repetition i against the faster of the probes just before and just after it (a slow probe never
      // flatters the ratio); the median over the repetitions is the figure.
      std::vector<double> reads, fractions;
      for (const ReadBandwidth& p : probes) reads.push_back(p.best_gb_per_s);
      for (size_t i = 0; i < times.size(); ++i)
        fractions.push_back(per_token * double(tokens * batch) / times[i] / 1e9 / std::max(reads[i], reads[i + 1]));
      const double read = median(reads), fraction = median(fractions);
      j["read_gb_per_s"] = read;
      j["read_gb_per_s_probes"] = reads;
      j["read_probe_bytes"] = double(probes[0].bytes);
      j["fraction_of_read_bandwidth"] = fraction;
      j["fraction_of_read_bandwidth_reps"] = fractions;
      for (auto s2 : {"read GB/s", "of read"}) head.push_back(s2);
      row.push_back(fmt("%.2f", read));
      row.push_back(fmt("%.2f", fraction));
    }
    if (batch > 1) {
      j["sequential_tokens_per_s"] = seq_tps;
      j["batched_vs_sequential"] = tps / seq_tps;
      for (auto s : {"one-by-one tok/s", "batched/one-by-one"}) head.push_back(s);
      row.push_back(fmt("%.2f", seq_tps));
      row.push_back(fmt("%.2fx", tps / seq_tps));
    }
  }
  for (auto s : {"cache GB", "peak RSS GB"}) head.push_back(s);
  row.push_back(gb(double(batch) * cache_bytes_for(cfg, context + tokens, kv)));
  row.push_back(gb(peak_rss_bytes()));
  Table t(head);
  t.add(row);
  emit(c, j, t,
       fmt("mean of %d run%s after %d warm-up (best %.2f tokens/s); context %s in %.2f s; setup %.1f s", c.reps,
           c.reps > 1 ? "s" : "", c.warmup, best_tps,
           fill == "none" ? "empty" : fill == "random" ? "filled with random K/V and states" : "prefilled", fill_s,
           setup_s));
  return 0;
}

// --------------------------------------------------------------------------------------------------- gdn

std::vector<int64_t> parse_list(const std::string& s, const char* flag) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end || v <= 0) fail(flag, ": expected positive integers separated by commas, got '", s, "'");
    out.push_back(v);
  }
  if (out.empty()) fail(flag, ": empty list");
  return out;
}

int bench_gdn(int argc, char** argv) {
  CLI::App app{"The gated-delta-rule kernel alone (src/kernels/gdn.h) on random inputs: chunked forward, "
               "token-by-token recurrent forward and chunked backward, per sequence length.",
               argv[0]};
  Common c;
  std::string Ts = "64,256,1024";
  int64_t H = 32, Hk = 0, dk = 128, dv = 128, chunk = 64;
  bool no_backward = false;
  app.add_option("--T", Ts, "Sequence lengths, comma-separated")->default_val(Ts);
  app.add_option("--heads", H, "Value heads")->default_val(H)->check(Positive);
  app.add_option("--key-heads", Hk, "Key heads (0 = --heads; must divide it)")->default_val(0)
      ->check(NonNegative);
  app.add_option("--dk", dk, "Key head dim")->default_val(dk)->check(Positive);
  app.add_option("--dv", dv, "Value head dim")->default_val(dv)->check(Positive);
  app.add_option("--chunk", chunk, "Chunk length of the chunked form")->default_val(chunk)->check(Positive);
  app.add_flag("--no-backward", no_backward, "Skip the backward");
  bool no_bf16 = false;
  app.add_flag("--no-bf16", no_bf16,
               "Skip the BF16 variant of the chunked forward (bf16 operands, f32 accumulation; its error is max "
               "|bf16 - f32| over max |f32| of the output and final state; skipped anyway without AVX512-BF16)");
  int64_t peak_n = 2048;
  app.add_option("--peak-n", peak_n, "Size of the SGEMM whose rate the kernels are compared with (0 = skip)")
      ->default_val(peak_n)->check(NonNegative);
  add_common(app, c, 3, 1, " (best is reported)");
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  if (Hk == 0) Hk = H;
  if (H % Hk) fail("--key-heads ", Hk, " must divide --heads ", H);
  const std::vector<int64_t> Tlist = parse_list(Ts, "--T");
  const int threads = set_threads(c.threads);

  // One row per length, feeding both the table and the JSON.
  struct Row {
    int64_t T;
    double fwd_s, rec_s, bwd_s = 0, bf16_s = 0, fwd_flop, bwd_flop, bf16_out_err = 0, bf16_state_err = 0;
  };
  std::vector<Row> rows;
  const bool bf16 = !no_bf16 && gdn_bf16_available();
  std::mt19937_64 rng(c.seed);
  std::uniform_real_distribution<float> uni(-1.f, 1.f), unit(0.f, 1.f);
  for (int64_t T : Tlist) {
    std::vector<float> q(size_t(T * Hk * dk)), k(q.size()), v(size_t(T * H * dv)), beta(size_t(T * H)), g(beta.size());
    for (auto* x : {&q, &k, &v})
      for (auto& e : *x) e = uni(rng);
    // q and k reach the kernel l2-normalised (q also scaled by dk^-1/2).
    for (int64_t r = 0; r < T * Hk; ++r)
      for (auto* x : {&q, &k}) {
        float* p = x->data() + r * dk;
        double s = 0;
        for (int64_t i = 0; i < dk; ++i) s += double(p[i]) * p[i];
        const float sc = float(1.0 / std::sqrt(s + 1e-6)) * (x == &q ? float(1.0 / std::sqrt(double(dk))) : 1.f);
        for (int64_t i = 0; i < dk; ++i) p[i] *= sc;
      }
    for (auto& e : beta) e = unit(rng);
    for (auto& e : g) e = -0.001f - 0.2f * unit(rng);
    std::vector<float> state(size_t(H * dk * dv)), out(v.size());
    GdnArgs<float> a{q.data(), Hk * dk, k.data(), Hk * dk, v.data(), H * dv, beta.data(), g.data(),
                     state.data(), out.data(), H * dv, T, Hk, H, dk, dv};
    auto best_of = [&](auto&& fn) {
      double best = 1e30;
      for (int r = 0; r < c.warmup + c.reps; ++r) {
        std::fill(state.begin(), state.end(), 0.f);
        Timer tm;
        fn();
        if (r >= c.warmup) best = std::min(best, tm.seconds());
      }
      return best;
    };
    Row row{T, 0, 0, 0, 0, gdn_flops(gdn_forward_chunk_flops, T, H, dk, dv, chunk),
            gdn_flops(gdn_backward_chunk_flops, T, H, dk, dv, chunk)};
    row.fwd_s = best_of([&] { gdn_chunk_forward(a, chunk); });
    if (bf16) {
      // Error of the BF16 products against this f32 result: max |difference| over max |f32 value|, for the
      // output and for the final state.
      const std::vector<float> out32 = out, state32 = state;
      row.bf16_s = best_of([&] { gdn_chunk_forward_bf16(a, chunk); });
      const auto rel = [](const std::vector<float>& x, const std::vector<float>& ref) {
        double d = 0, m = 0;
        for (size_t i = 0; i < x.size(); ++i) {
          d = std::max(d, std::fabs(double(x[i]) - ref[i]));
          m = std::max(m, std::fabs(double(ref[i])));
        }
        return m > 0 ? d / m : d;
      };
      row.bf16_out_err = rel(out, out32);
      row.bf16_state_err = rel(state, state32);
    }
    row.rec_s = best_of([&] { gdn_recurrent(a); });
    if (!no_backward) {
      std::vector<float> dout(out.size()), dq(q.size()), dkk(k.size()), dvv(v.size()), db(beta.size()), dg(g.size());
      for (auto& e : dout) e = uni(rng);
      GdnArgs<float> ab = a;
      ab.state = nullptr;
      GdnGradArgs<float> d{dout.data(), H * dv, nullptr, dq.data(), Hk * dk, dkk.data(), Hk * dk, dvv.data(), H * dv,
                           db.data(), dg.data(), nullptr};
      row.bwd_s = best_of([&] { gdn_chunk_backward(ab, d, chunk); });
    }
    rows.push_back(row);
  }
  // SGEMM at the same thread count, measured after the kernels so that both see the same (possibly shared) CPUs.
  const double sgemm = peak_n > 0 ? measure_sgemm_gflops(int(peak_n), 3) : 0.0;
  const auto null = nlohmann::json(nullptr);
  const auto opt = [&](bool has, double x) { return has ? nlohmann::json(x) : null; };
  std::vector<std::string> head = {"T", "chunk fwd ms", "GFLOP/s", "of SGEMM", "recurrent ms", "chunk/recurrent"};
  if (bf16) head.insert(head.end(), {"bf16 fwd ms", "bf16/f32", "bf16 err"});
  head.insert(head.end(), {"chunk bwd ms", "GFLOP/s", "of SGEMM"});
  Table t(head);
  nlohmann::json jrows = nlohmann::json::array();
  for (const Row& r : rows) {
    const double fr = r.fwd_flop / r.fwd_s / 1e9, br = no_backward ? 0.0 : r.bwd_flop / r.bwd_s / 1e9;
    const auto of = [&](double x) { return sgemm > 0 ? fmt("%.2f", x / sgemm) : std::string("-"); };
    std::vector<std::string> cells = {fmt("%ld", long(r.T)), fmt("%.3f", r.fwd_s * 1e3), fmt("%.1f", fr), of(fr),
                                      fmt("%.3f", r.rec_s * 1e3), fmt("%.2fx", r.rec_s / r.fwd_s)};
    if (bf16)
      cells.insert(cells.end(), {fmt("%.3f", r.bf16_s * 1e3), fmt("%.2fx", r.fwd_s / r.bf16_s),
                                 fmt("%.1e", std::max(r.bf16_out_err, r.bf16_state_err))});
    cells.insert(cells.end(), {no_backward ? "-" : fmt("%.3f", r.bwd_s * 1e3), no_backward ? "-" : fmt("%.1f", br),
                               no_backward ? "-" : of(br)});
    t.add(cells);
    jrows.push_back({{"T", r.T}, {"chunk_fwd_ms", r.fwd_s * 1e3}, {"recurrent_ms", r.rec_s * 1e3},
                     {"chunk_bwd_ms", opt(!no_backward, r.bwd_s * 1e3)}, {"tokens_per_s", double(r.T) / r.fwd_s},
                     {"recurrent_tokens_per_s", double(r.T) / r.rec_s}, {"chunk_speedup", r.rec_s / r.fwd_s},
                     {"fwd_gflop", r.fwd_flop / 1e9}, {"fwd_gflops", fr}, {"bwd_gflop", r.bwd_flop / 1e9},
                     {"bwd_gflops", opt(!no_backward, br)}, {"fwd_of_sgemm", opt(sgemm > 0, fr / sgemm)},
                     {"bwd_of_sgemm", opt(sgemm > 0 && !no_backward, br / sgemm)},
                     {"bf16_fwd_ms", opt(bf16, r.bf16_s * 1e3)}, {"bf16_speedup", opt(bf16, r.fwd_s / r.bf16_s)},
                     {"bf16_out_rel_err", opt(bf16, r.bf16_out_err)},
                     {"bf16_state_rel_err", opt(bf16, r.bf16_state_err)}});
  }
  nlohmann::json j = {{"bench", "gdn"}, {"heads", H},   {"key_heads", Hk},      {"dk", dk},
                      {"dv", dv},       {"chunk", chunk}, {"threads", threads}, {"reps", c.reps},
                      {"rows", jrows},  {"tokens_per_s", jrows.back()["tokens_per_s"]},
                      {"sgemm_gflops", sgemm}, {"sgemm_n", peak_n}};
  emit(c, j, t,
       fmt("heads %ld (key heads %ld), dk %ld, dv %ld, chunk %ld, %d thread%s; best of %d after %d warm-up; "
           "GFLOP/s by the counts of src/bench/gdn_flops.h (forward %.1f, backward %.1f kFLOP per token and head at "
           "this chunk); SGEMM %ld³ in this run: %.1f GFLOP/s",
           long(H), long(Hk), long(dk), long(dv), long(chunk), threads, threads > 1 ? "s" : "", c.reps, c.warmup,
           gdn_forward_chunk_flops(double(chunk), double(dk), double(dv)) / double(chunk) / 1e3,
           gdn_backward_chunk_flops(double(chunk), double(dk), double(dv)) / double(chunk) / 1e3, long(peak_n), sgemm));
  return 0;
}

// ---------------------------------------------------------------------------------------------- tokenize

// --------------------------------------------------------------------------------------------------- serve

int bench_serve(int argc, char** argv) {
  CLI::App app{"Load test of a running OpenAI-compatible server (`hybrid serve`; loopback URLs only): streamed "
               "/v1/completions with token-id prompts, per concurrency level; TTFT, TPOT, ITL and end-to-end latency "
               "(p50/p90/p99), requests/s, output tokens/s, cached-token fraction.",
               argv[0]};
  serve::LoadOptions o;
  std::string conc = "1,2,4,8";
  bool json_out = false;
  app.add_option("--url", o.url, "Server base URL")->default_val(o.url);
  app.add_option("--concurrency", conc, "Concurrent clients, a list")->default_val(conc);
  app.add_option("--requests", o.requests, "Conversations per concurrency level")->default_val(o.requests)
      ->check(CLI::Range(int64_t(1), int64_t(100000)));
  app.add_option("--input-len", o.input_len, "New prompt tokens per request")->default_val(o.input_len)
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  app.add_option("--output-len", o.output_len, "Generated tokens per request (end-of-sequence ignored)")
      ->default_val(o.output_len)->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  app.add_option("--shared-prefix", o.shared_prefix, "Tokens every prompt starts with")->default_val(0)
      ->check(CLI::Range(int64_t(0), int64_t(1) << 20));
  app.add_option("--turns", o.turns, "Requests per conversation (each continues the previous prompt + reply)")
      ->default_val(1)->check(CLI::Range(int64_t(1), int64_t(1000)));
  app.add_option("--followup-len", o.followup_len, "New prompt tokens in turns after the first (default: --input-len)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  app.add_flag("--chat", o.chat, "Chat endpoint with word prompts (--shared-prefix words become the system message)");
  app.add_option("--vocab", o.vocab, "Prompt ids are drawn from [0, vocab)")->default_val(o.vocab)
      ->check(Positive);
  app.add_option("--api-key", o.api_key, "Bearer key for a server started with --api-key");
  app.add_option("--model", o.model, "Model name to send (default: none)");
  app.add_option("--seed", o.seed, "Prompt seed")->default_val(o.seed);
  app.add_option("--timeout", o.timeout_s, "Seconds per concurrency level before it stops")->default_val(o.timeout_s)
      ->check(Positive);
  app.add_flag("--json", json_out, "One JSON object instead of the table");
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  o.concurrency = parse_list(conc, "--concurrency");
  const auto res = serve::run_load(o);
  nlohmann::json j = {{"bench", "serve"}, {"url", o.url}, {"input_len", o.input_len}, {"output_len", o.output_len},
                      {"shared_prefix", o.shared_prefix}, {"turns", o.turns}, {"results", nlohmann::json::array()}};
  Table t({"conc", "ok", "fail", "req/s", "out tok/s", "TTFT p50/p90/p99 ms", "TPOT p50/p90/p99 ms",
           "ITL p50/p90/p99 ms", "E2E p50/p90/p99 s", "cached"});
  for (const auto& r : res) {
    j["results"].push_back(r.to_json());
    auto ms3 = [](const double* v) { return fmt("%.1f/%.1f/%.1f", 1e3 * v[0], 1e3 * v[1], 1e3 * v[2]); };
    t.add({fmt("%ld", long(r.concurrency)), fmt("%ld", long(r.ok)), fmt("%ld", long(r.failed)),
           fmt("%.2f", r.requests_per_s), fmt("%.1f", r.output_tokens_per_s), ms3(r.ttft), ms3(r.tpot), ms3(r.itl),
           fmt("%.2f/%.2f/%.2f", r.e2e[0], r.e2e[1], r.e2e[2]), fmt("%.1f%%", 100 * r.cached_fraction)});
  }
  if (json_out) std::printf("%s\n", j.dump(2).c_str());
  else {
    std::fputs(t.str().c_str(), stdout);
    std::printf("%ld conversations x %ld turns per level; input %ld (+%ld shared) %s, output %ld tokens\n",
                long(o.requests), long(o.turns), long(o.input_len), long(o.shared_prefix), o.chat ? "words" : "tokens",
                long(o.output_len));
    if (o.turns > 1)
      for (const auto& r : res)
        std::printf("concurrency %ld: TTFT p50 turn 1 %.1f ms, later turns %.1f ms\n", long(r.concurrency),
                    1e3 * r.ttft_first_turn, 1e3 * r.ttft_later_turns);
  }
  for (const auto& r : res)
    if (r.failed) return 1;
  return 0;
}

int bench_tokenize(int argc, char** argv) {
  CLI::App app{"Tokenizer encode throughput on a text file: one thread over the whole text, then batch encoding "
               "of ~64 kB documents with 1, 2, 4 ... up to --threads threads.",
               argv[0]};
  Common c;
  std::string tok_path, text_path;
  app.add_option("--tokenizer", tok_path, "tokenizer.json, a directory holding one, or a .tiktoken file")->required();
  app.add_option("--text", text_path, "Text file to encode")->required();
  add_common(app, c, 3, 0, " (best is reported)");
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  const int max_threads = set_threads(c.threads);
  const Tokenizer tok = Tokenizer::load(tok_path);
  const std::string text = read_file(text_path);
  if (text.empty()) fail(text_path, ": empty file");
  const double mb = double(text.size()) / 1e6;

  auto best_of = [&](auto&& fn) {
    double best = 1e30;
    for (int r = 0; r < c.warmup + c.reps; ++r) {
      Timer tm;
      fn();
      if (r >= c.warmup) best = std::min(best, tm.seconds());
    }
    return best;
  };
  nlohmann::json rows = nlohmann::json::array();
  Table t({"mode", "threads", "MB/s", "tokens/s", "documents"});
  size_t n_tokens = 0;
  set_threads(1);
  const double t1 = best_of([&] { n_tokens = tok.encode(text).size(); });
  rows.push_back({{"mode", "single"}, {"threads", 1}, {"mb_per_s", mb / t1}, {"tokens_per_s", double(n_tokens) / t1}});
  t.add({"encode", "1", fmt("%.2f", mb / t1), fmt("%.0f", double(n_tokens) / t1), "1"});

  std::vector<std::string_view> docs;
  for (size_t start = 0; start < text.size();) {
    size_t cut = text.find("\n\n", std::min(text.size(), start + 65536));
    cut = cut == std::string::npos ? text.size() : cut + 2;
    docs.push_back(std::string_view(text).substr(start, cut - start));
    start = cut;
  }
  for (int th = 1;; th = std::min(th * 2, max_threads)) {
    set_threads(th);
    size_t nb = 0;
    const double tb = best_of([&] {
      nb = 0;
      for (auto& d : tok.encode_batch(docs)) nb += d.size();
    });
    rows.push_back({{"mode", "batch"}, {"threads", th}, {"mb_per_s", mb / tb}, {"tokens_per_s", double(nb) / tb}});
    t.add({"batch", fmt("%d", th), fmt("%.2f", mb / tb), fmt("%.0f", double(nb) / tb), fmt("%zu", docs.size())});
    if (th >= max_threads) break;
  }
  nlohmann::json j = {{"bench", "tokenize"}, {"text_bytes", text.size()}, {"tokens", n_tokens},
                      {"mb_per_s", mb / t1},  {"tokens_per_s", double(n_tokens) / t1}, {"rows", rows}};
  emit(c, j, t, fmt("%.2f MB, %zu tokens; best of %d after %d warm-up", mb, n_tokens, c.reps, c.warmup));
  return 0;
}

struct Sub {
  const char* name;
  int (*run)(int, char**);
  const char* help;
};

int run_decode(int argc, char** argv) { return bench_infer(argc, argv, true); }
int run_prefill(int argc, char** argv) { return bench_infer(argc, argv, false); }

const Sub kSubs[] = {
    {"train", bench_train, "Training step throughput and MFU (GradModel + AdamW, random data)"},
    {"serve", bench_serve, "Load test of a running server: TTFT / TPOT / ITL / E2E percentiles, throughput"},
    {"prefill", run_prefill, "Prompt processing tokens/s at a context length (pp512 = --tokens 512)"},
    {"decode", run_decode, "Decode tokens/s, bytes per token and GB/s at a context length (tg128)"},
    {"gdn", bench_gdn, "The gated-delta-rule kernel: chunked vs recurrent forward, chunked backward"},
    {"tokenize", bench_tokenize, "Tokenizer encode MB/s and tokens/s, single and batch"},
};

}  // namespace

int run_bench(int argc, char** argv) {
  auto usage = [](FILE* out) {
    std::fprintf(out,
                 "hybrid bench - throughput benchmarks (a table, or one JSON object with --json)\n\n"
                 "usage: hybrid bench <what> [options]   (hybrid bench <what> --help for details)\n\n");
    for (auto& s : kSubs) std::fprintf(out, "  %-9s %s\n", s.name, s.help);
  };
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (auto& s : kSubs) {
    if (std::strcmp(argv[1], s.name) != 0) continue;
    std::string name = std::string("hybrid bench ") + s.name;
    argv[1] = name.data();
    return s.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "error: hybrid bench: unknown benchmark '%s' (train | prefill | decode | gdn | tokenize)\n",
               argv[1]);
  return 2;
}

}  // namespace hyb::cli
