#include "train/train_checkpoint.h"

#include <chrono>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/json_parse.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "model/weights.h"

namespace hyb {

namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& p, const std::string& s) {
  AtomicFile f(p.string());
  f.write(s.data(), s.size());
  f.commit();
}

// data: a flat arena laid out as `layout`'s.
void write_tensors(const fs::path& p, const ParamTensors& layout, const float* data, const std::string& prefix) {
  std::vector<TensorSpec> specs;
  for (const auto& s : layout.specs()) specs.push_back({prefix + s.name, DType::F32, s.shape});
  SafetensorsWriter w(p.string(), specs);
  for (size_t i = 0; i < layout.specs().size(); ++i)
    w.write(prefix + layout.specs()[i].name, data + (layout.tensor(i) - layout.data()),
            size_t(layout.numel(i)) * sizeof(float));
  w.finish();
}

// For tests of crash safety: HYBRID_TEST_CHECKPOINT_STALL_MS makes the writer pause half-way through.
void maybe_stall() {
  if (const char* e = std::getenv("HYBRID_TEST_CHECKPOINT_STALL_MS"))
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(e)));
}

bool complete(const fs::path& d) { return fs::exists(d / "trainer_state.json") && fs::exists(d / "model.safetensors"); }

}  // namespace

void save_train_checkpoint(const std::string& out_dir, const ParamTensors& params, const OptimizerState& opt,
                           const TrainState& st, const std::string& data_dir) {
  const fs::path out(out_dir), part = out / "checkpoint.partial", cur = out / "checkpoint",
      prev = out / "checkpoint.prev";
  std::error_code ec;
  fs::remove_all(part, ec);
  fs::create_directories(part);
  const ModelConfig& c = params.config();
  nlohmann::json cj = c.resolved_json();
  cj["dtype"] = "float32";
  write_text(part / "config.json", cj.dump(2) + "\n");
  nlohmann::json g = {{"_from_model_config", true}};
  if (c.eos_token_id) g["eos_token_id"] = *c.eos_token_id;
  if (c.pad_token_id) g["pad_token_id"] = *c.pad_token_id;
  write_text(part / "generation_config.json", g.dump(2) + "\n");
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    if (fs::exists(fs::path(data_dir) / f)) {
      std::ifstream in(fs::path(data_dir) / f, std::ios::binary);
      write_text(part / f, std::string(std::istreambuf_iterator<char>(in), {}));
    }
  write_tensors(part / "model.safetensors", params, params.data(), "");
  maybe_stall();
  write_tensors(part / "optimizer.safetensors", params, opt.exp_avg, "exp_avg.");
  write_tensors(part / "optimizer_sq.safetensors", params, opt.exp_avg_sq, "exp_avg_sq.");
  nlohmann::json s = {{"step", st.step}, {"tokens", st.tokens}, {"optimizer_step", opt.step},
                      {"data_position", st.step}, {"identity", st.identity}};
  write_text(part / "trainer_state.json", s.dump(2) + "\n");  // last: its presence marks a complete directory
  fsync_dir(part.string());

  fs::remove_all(prev, ec);
  if (fs::exists(cur)) fs::rename(cur, prev);
  fs::rename(part, cur);
  fsync_dir(out.string());
  fs::remove_all(prev, ec);
}

std::string find_checkpoint(const std::string& out_dir) {
  const fs::path out(out_dir);
  for (const char* name : {"checkpoint", "checkpoint.prev"})
    if (complete(out / name)) return (out / name).string();
  return "";
}

TrainState read_train_state(const std::string& ckpt_dir) {
  const fs::path p = fs::path(ckpt_dir) / "trainer_state.json";
  const nlohmann::json j = read_json_file(p.string(), size_t(16) << 20);
  try {
    TrainState st;
    st.step = j.at("step").get<int64_t>();
    st.tokens = j.at("tokens").get<int64_t>();
    st.identity = j.at("identity");
    return st;
  } catch (const nlohmann::json::exception& e) {
    fail(p.string(), ": malformed: ", e.what());
  }
}

void load_train_checkpoint(const std::string& ckpt_dir, ParamTensors& params, AdamW& opt) {
  const Weights w = Weights::load(ckpt_dir, WeightDType::F32);
  params.copy_from(w);
  const fs::path d(ckpt_dir);
  const size_t lo = opt.lo(), hi = opt.hi();
  for (auto [file, prefix, dst] : {std::tuple{"optimizer.safetensors", "exp_avg.", opt.exp_avg()},
                                   {"optimizer_sq.safetensors", "exp_avg_sq.", opt.exp_avg_sq()}}) {
    SafetensorsFile f((d / file).string());
    for (size_t i = 0; i < params.specs().size(); ++i) {
      const std::string name = prefix + params.specs()[i].name;
      const TensorView* v = f.find(name);
      if (!v || v->dtype != DType::F32 || v->numel() != params.numel(i))
        fail(f.path(), ": tensor ", name, " missing or not F32 with ", params.numel(i), " elements");
      // The part of this tensor inside [lo, hi).
      const size_t t0 = size_t(params.tensor(i) - params.data()), t1 = t0 + size_t(params.numel(i));
      const size_t a = std::max(lo, t0), b = std::min(hi, t1);
      if (a < b)
        std::memcpy(dst + (a - lo), v->data + (a - t0) * sizeof(float), (b - a) * sizeof(float));
    }
  }
  opt.set_step(read_train_state(ckpt_dir).step);
}

}  // namespace hyb
