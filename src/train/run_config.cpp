#include "train/run_config.h"

#include <climits>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/json_parse.h"
#include "core/error.h"
#include "model/weights.h"

namespace hyb {

namespace fs = std::filesystem;

namespace {

nlohmann::json read_json(const std::string& path) {
  return read_json_file(path, size_t(16) << 20);
}

// OLMo-style shapes from a width and depth: attention heads of 64 (or hidden/heads), SwiGLU at ~8/3·d rounded up
// to 16, GDN heads with key dim 0.75·d/heads and value dim 2× that (spec §7's recipe, scaled down).
nlohmann::json preset(const nlohmann::json& m, const std::string& where) {
  const JsonFields f(m, where + ": model");
  const std::string kind = f.string("preset", "");
  // Bounds keep every derived size far from overflow (ModelConfig checks the same limits).
  const int64_t D = f.integer("hidden_size", 256, 1, kMaxModelDim);
  const int64_t L = f.integer("num_hidden_layers", 8, 1, kMaxModelLayers);
  const int64_t H = f.integer("num_attention_heads", std::max<int64_t>(1, D / 64), 1, D);
  if (D % H) fail(where, ": model: hidden_size must be a positive multiple of heads");
  int64_t I = f.integer("intermediate_size", 0, 0, kMaxModelDim);
  if (I == 0) I = (D * 8 / 3 + 15) / 16 * 16;
  const int64_t kd = f.integer("linear_key_head_dim", std::max<int64_t>(8, int64_t(0.75 * double(D) / double(H))), 1,
                               kMaxModelDim);
  nlohmann::json types = nlohmann::json::array();
  for (int64_t l = 0; l < L; ++l) {
    bool attn;
    if (kind == "hybrid") attn = l % 4 == 3;
    else if (kind == "transformer") attn = true;
    else if (kind == "gdn") attn = false;
    else fail(where, ": model.preset: unknown preset \"", kind, "\" (hybrid | transformer | gdn)");
    types.push_back(attn ? "full_attention" : "linear_attention");
  }
  nlohmann::json rope = nullptr;
  if (m.contains("rope_theta")) rope = m["rope_theta"];
  else rope = 500000.0;
  return {{"architectures", {"OlmoHybridForCausalLM"}},
          {"model_type", "olmo_hybrid"},
          {"hidden_size", D},
          {"intermediate_size", I},
          {"num_hidden_layers", L},
          {"num_attention_heads", H},
          {"num_key_value_heads", f.integer("num_key_value_heads", H, 1, H)},
          {"layer_types", types},
          {"linear_num_key_heads", H},
          {"linear_num_value_heads", H},
          {"linear_key_head_dim", kd},
          {"linear_value_head_dim", 2 * kd},
          {"linear_conv_kernel_dim", 4},
          {"linear_allow_neg_eigval", f.boolean("linear_allow_neg_eigval", true)},
          {"rms_norm_eps", 1e-6},
          {"initializer_range", 0.02},
          {"rope_parameters", {{"rope_theta", rope}, {"rope_type", "default"}}},
          {"max_position_embeddings", f.integer("max_position_embeddings", 4096, 1, INT32_MAX)},
          {"tie_word_embeddings", f.boolean("tie_word_embeddings", false)}};
}

}  // namespace

ModelConfig resolve_model(const nlohmann::json& model, const std::string& run_path, int64_t vocab_size,
                          int64_t eos_id, int64_t pad_id) {
  nlohmann::json j;
  if (model.is_string()) {
    fs::path p = model.get<std::string>();
    if (p.is_relative()) p = fs::path(run_path).parent_path() / p;
    if (fs::is_directory(p)) p /= "config.json";
    j = read_json(p.string());
  } else if (model.is_object() && model.contains("preset")) {
    j = preset(model, run_path);
    // Baselines at matched size: without an explicit intermediate_size, the transformer and GDN presets get the
    // SwiGLU width that brings their parameter count closest to the hybrid preset of the same width and depth.
    const std::string kind = JsonFields(model, run_path + ": model").string("preset", "");
    if (kind != "hybrid" && !model.contains("intermediate_size")) {
      auto count = [&](nlohmann::json c) {
        c["vocab_size"] = vocab_size;
        int64_t n = 0;
        for (const auto& p : canonical_params(ModelConfig::from_json(c, run_path + ": model"))) {
          int64_t k = 1;
          for (int64_t d : p.shape) k *= d;
          n += k;
        }
        return n;
      };
      nlohmann::json h = model;
      h["preset"] = "hybrid";
      const int64_t target = count(preset(h, run_path));
      // The count is linear in the SwiGLU width: solve for it, then take the best multiple of 16 near the solution
      // (the same choice as scanning every multiple of 16 up to 16·hidden_size, smallest on ties).
      const int64_t D = j["hidden_size"].get<int64_t>();
      j["intermediate_size"] = 16;
      const int64_t c16 = count(j);
      j["intermediate_size"] = 32;
      const int64_t slope = (count(j) - c16) / 16;  // parameters per unit of width
      const int64_t guess = slope > 0 ? 16 + (target - c16) / slope : 16;
      const int64_t center = std::clamp<int64_t>(guess / 16 * 16, 16, 16 * D);
      int64_t best = j["intermediate_size"].get<int64_t>(), best_diff = INT64_MAX;
      for (int64_t I = std::max<int64_t>(16, center - 32); I <= std::min<int64_t>(16 * D, center + 32); I += 16) {
        j["intermediate_size"] = I;
        const int64_t d = std::llabs(count(j) - target);
        if (d < best_diff) best_diff = d, best = I;
      }
      j["intermediate_size"] = best;
    }
  } else if (model.is_object()) {
    j = model;
  } else {
    fail(run_path, ": model: must be a config object, a config.json path, or {\"preset\": ...}");
  }
  j["vocab_size"] = vocab_size;
  j["eos_token_id"] = eos_id;
  if (pad_id >= 0) j["pad_token_id"] = pad_id;
  else j.erase("pad_token_id");
  j.erase("bos_token_id");
  return ModelConfig::from_json(j, run_path + ": model");
}

RunConfig RunConfig::load(const std::string& path) {
  const nlohmann::json j = read_json(path);
  RunConfig r;
  static const char* known[] = {"model", "data", "out", "steps", "batch", "seq_len", "lr", "lr_final_ratio", "warmup",
                                "schedule", "decay_steps", "weight_decay", "beta1", "beta2", "eps", "decay_gdn_gates",
                                "grad_clip", "z_loss", "document_boundaries", "seed", "eval_interval", "eval_batches",
                                "checkpoint_interval", "log_interval", "threads", "comment", "init_from",
                                "tokenizer", "val_data", "epochs", "warmup_ratio", "max_len", "drop_long", "skip_bad",
                                "pack", "loss", "beta", "label_smoothing", "gamma_ratio", "ref", "precision", "eval_suite",
                                "eval_suite_items"};
  const JsonFields f(j, path);
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::find(std::begin(known), std::end(known), it.key()) == std::end(known))
      fail(path, ": unknown field \"", it.key(), "\"");
  if (!j.contains("model") && !j.contains("init_from"))
    fail(path, ": missing field \"model\" (or \"init_from\" for post-training)");
  if (!f.has("data")) fail(path, ": missing field \"data\"");
  if (j.contains("model")) r.model = j.at("model");
  const fs::path base = fs::path(path).parent_path();
  auto rel = [&](const std::string& p) { return fs::path(p).is_relative() ? (base / p).lexically_normal().string() : p; };
  r.data = rel(f.string("data", ""));
  if (f.has("out")) r.out = rel(f.string("out", r.out));
  // Types (and int32 where the field is an int) here; value ranges in validate().
  constexpr int64_t kI32 = INT32_MAX;
  r.steps = f.integer("steps", r.steps);
  r.batch = f.integer("batch", r.batch);
  r.seq_len = f.integer("seq_len", r.seq_len);
  r.lr = f.number("lr", r.lr);
  r.lr_final_ratio = f.number("lr_final_ratio", r.lr_final_ratio);
  r.warmup = f.integer("warmup", r.warmup);
  r.schedule = f.string("schedule", r.schedule);
  r.decay_steps = f.integer("decay_steps", r.decay_steps);
  r.weight_decay = f.number("weight_decay", r.weight_decay);
  r.beta1 = f.number("beta1", r.beta1);
  r.beta2 = f.number("beta2", r.beta2);
  r.eps = f.number("eps", r.eps);
  r.decay_gdn_gates = f.boolean("decay_gdn_gates", r.decay_gdn_gates);
  r.grad_clip = f.number("grad_clip", r.grad_clip);
  r.z_loss = f.number("z_loss", r.z_loss);
  r.document_boundaries = f.boolean("document_boundaries", r.document_boundaries);
  if (f.has("precision")) r.precision = parse_precision(f.string("precision", "f32"), path + ": field \"precision\"");
  if (f.has("seed"))  // the full uint64 range, as the --seed flag takes
    r.seed = j["seed"].is_number_unsigned() ? j["seed"].get<uint64_t>() : uint64_t(f.integer("seed", 0, 0));
  r.eval_interval = f.integer("eval_interval", r.eval_interval);
  r.eval_batches = f.integer("eval_batches", r.eval_batches);
  r.checkpoint_interval = f.integer("checkpoint_interval", r.checkpoint_interval);
  r.log_interval = f.integer("log_interval", r.log_interval);
  r.eval_suite_items = f.integer("eval_suite_items", r.eval_suite_items);
  r.threads = int(f.integer("threads", r.threads, -kI32, kI32));
  r.steps_given = f.has("steps");
  for (auto [field, dst] : {std::pair{"init_from", &r.init_from}, {"tokenizer", &r.tokenizer},
                            {"val_data", &r.val_data}, {"ref", &r.ref}, {"eval_suite", &r.eval_suite}})
    if (f.has(field)) *dst = rel(f.string(field, ""));
  r.epochs = f.integer("epochs", r.epochs);
  r.warmup_ratio = f.number("warmup_ratio", r.warmup_ratio);
  r.max_len = f.integer("max_len", r.max_len);
  r.drop_long = f.boolean("drop_long", r.drop_long);
  r.skip_bad = f.boolean("skip_bad", r.skip_bad);
  r.pack = f.integer("pack", r.pack);
  r.loss = f.string("loss", r.loss);
  r.beta = f.number("beta", r.beta);
  r.label_smoothing = f.number("label_smoothing", r.label_smoothing);
  r.gamma_ratio = f.number("gamma_ratio", r.gamma_ratio);
  return r;
}

void RunConfig::validate() const {
  auto pos = [](const char* f, int64_t v) { if (v <= 0) fail("run config: ", f, " must be positive, got ", v); };
  pos("steps", steps);
  pos("batch", batch);
  if (seq_len < 1) fail("run config: seq_len must be at least 1, got ", seq_len);
  if (!(lr > 0) || !std::isfinite(lr)) fail("run config: lr must be positive, got ", lr);
  if (warmup < 0 || warmup > steps) fail("run config: warmup must lie in [0, steps], got ", warmup);
  if (grad_clip < 0) fail("run config: grad_clip must be >= 0 (0 = off), got ", grad_clip);
  if (z_loss < 0) fail("run config: z_loss must be >= 0, got ", z_loss);
  if (eval_interval < 0 || checkpoint_interval < 0 || log_interval < 0)
    fail("run config: eval_interval, checkpoint_interval and log_interval must be >= 0");
  if (eval_batches < 0) fail("run config: eval_batches must be >= 0, got ", eval_batches);
  if (eval_suite_items < 0) fail("run config: eval_suite_items must be >= 0 (0 = all), got ", eval_suite_items);
  if (threads < 0) fail("run config: threads must be >= 0, got ", threads);
  if (epochs < 1) fail("run config: epochs must be >= 1, got ", epochs);
  if (!(warmup_ratio >= 0 && warmup_ratio <= 1)) fail("run config: warmup_ratio must lie in [0, 1], got ", warmup_ratio);
  if (max_len < 2) fail("run config: max_len must be >= 2, got ", max_len);
  if (pack < 0) fail("run config: pack must be >= 0, got ", pack);
  if (!(beta > 0)) fail("run config: beta must be positive, got ", beta);
  if (!(label_smoothing >= 0 && label_smoothing <= 0.5))
    fail("run config: label_smoothing must lie in [0, 0.5], got ", label_smoothing);
  if (!(gamma_ratio >= 0)) fail("run config: gamma_ratio must be >= 0, got ", gamma_ratio);
  lr_schedule().validate();
}

LrSchedule RunConfig::lr_schedule() const {
  LrSchedule s;
  s.decay = parse_lr_decay(schedule);
  s.peak = lr;
  s.warmup_steps = warmup;
  s.total_steps = steps;
  s.final_ratio = lr_final_ratio;
  s.decay_steps = decay_steps;
  return s;
}

AdamWConfig RunConfig::adamw() const {
  AdamWConfig a;
  a.beta1 = beta1;
  a.beta2 = beta2;
  a.eps = eps;
  a.weight_decay = weight_decay;
  a.decay_gdn_gates = decay_gdn_gates;
  return a;
}

nlohmann::json RunConfig::identity() const {
  nlohmann::json id = {{"steps", steps},       {"batch", batch},         {"seq_len", seq_len},
          {"lr", lr},             {"lr_final_ratio", lr_final_ratio}, {"warmup", warmup},
          {"schedule", schedule}, {"decay_steps", decay_steps}, {"weight_decay", weight_decay},
          {"beta1", beta1},       {"beta2", beta2},         {"eps", eps},
          {"decay_gdn_gates", decay_gdn_gates}, {"grad_clip", grad_clip}, {"z_loss", z_loss},
          {"seed", seed}};
  // Only when on, so checkpoints written before the field existed still resume.
  if (document_boundaries) id["document_boundaries"] = true;
  if (precision != Precision::F32) id["precision"] = precision_name(precision);
  return id;
}

nlohmann::json RunConfig::posttrain_identity(bool dpo) const {
  nlohmann::json id = identity();
  id.erase("seq_len");
  id.erase("z_loss");
  id["max_len"] = max_len;
  id["drop_long"] = drop_long;
  id["skip_bad"] = skip_bad;
  id["pack"] = pack;
  if (dpo) {
    id["loss"] = loss;
    id["beta"] = beta;
    id["label_smoothing"] = label_smoothing;
    id["gamma_ratio"] = gamma_ratio;
  }
  return id;
}

}  // namespace hyb
