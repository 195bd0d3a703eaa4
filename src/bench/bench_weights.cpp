#include "bench/bench_weights.h"

#include <cstring>
#include <fstream>
#include <map>

#include "core/error.h"
#include "model/init.h"
#include "model/quantize.h"
#include "model/param_tensors.h"
#include "train/run_config.h"

namespace hyb {

BenchWeights::~BenchWeights() = default;

ModelConfig load_bench_config(const std::string& path, int64_t vocab_size) {
  std::ifstream f(path);
  if (!f) fail(path, ": cannot open");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": invalid JSON: ", e.what());
  }
  if (!j.is_object()) fail(path, ": expected a JSON object (an HF config.json or a run config)");
  if (j.contains("model")) {
    const int64_t eos = vocab_size > 1 ? vocab_size - 2 : 0, pad = vocab_size > 1 ? vocab_size - 1 : 0;
    return resolve_model(j["model"], path, vocab_size, eos, pad);
  }
  return ModelConfig::from_json(j, path);
}

std::unique_ptr<BenchWeights> random_bench_weights(const ModelConfig& cfg, uint64_t seed) {
  auto bw = std::make_unique<BenchWeights>();
  bw->params = std::make_unique<ParamTensors>(cfg);
  ParamTensors& p = *bw->params;
  for (size_t i = 0; i < p.specs().size(); ++i)
    init_values(p.config(), p.specs()[i].name, seed, uint64_t(i + 1), p.tensor(i), p.numel(i));
  bw->weights = p.view();
  return bw;
}

std::unique_ptr<BenchWeights> load_bench_weights(const std::string& dir) {
  auto bw = std::make_unique<BenchWeights>();
  // Anonymous memory, not the mapping: a benchmark must not measure page-cache reclaim.
  bw->weights = Weights::load(dir, WeightDType::Auto, /*use_mmap=*/false);
  return bw;
}

namespace {

template <class Fn>
void for_each_matrix(Weights& w, Fn fn) {
  fn(w.embed);
  fn(w.lm_head);
  for (auto& L : w.layers) {
    if (L.kind == LayerKind::GDN) {
      for (WeightMat* m : {&L.gdn.q, &L.gdn.k, &L.gdn.v, &L.gdn.a, &L.gdn.b, &L.gdn.g, &L.gdn.o}) fn(*m);
    } else {
      for (WeightMat* m : {&L.attn.q, &L.attn.k, &L.attn.v, &L.attn.o}) fn(*m);
    }
    for (WeightMat* m : {&L.gate, &L.up, &L.down}) fn(*m);
  }
}

// Every F32 vector parameter (norms, conv taps, GDN gates) with its length.
template <class Fn>
void for_each_vector(Weights& w, Fn fn) {
  const ModelConfig& c = w.config();
  fn(w.final_norm, c.hidden_size);
  for (auto& L : w.layers) {
    fn(L.input_norm, c.hidden_size);
    fn(L.post_attn_norm, c.hidden_size);
    fn(L.post_ff_norm, c.hidden_size);
    fn(L.gdn.conv, c.conv_dim() * c.linear_conv_kernel_dim);
    fn(L.gdn.A_log, c.linear_num_value_heads);
    fn(L.gdn.dt_bias, c.linear_num_value_heads);
    fn(L.gdn.o_norm, c.linear_value_head_dim);
    fn(L.attn.q_norm, c.q_dim());
    fn(L.attn.k_norm, c.kv_dim());
  }
}

}  // namespace

void convert_bench_weights(BenchWeights& bw, const std::string& dtype) {
  DType target;
  if (dtype == "f32") target = DType::F32;
  else if (dtype == "bf16") target = DType::BF16;
  else if (dtype == "int8" || dtype == "q4") {
    // Quantized copies are owned by the Weights; vectors (norms, gates, conv) keep pointing at the F32 source.
    quantize_weights(bw.weights, parse_quant_type(dtype, "--dtype"));
    return;
  } else fail("--dtype ", dtype, ": unknown (f32 | bf16 | int8 | q4)");

  Weights& w = bw.weights;
  // A tied lm_head shares the embedding's storage: convert each distinct matrix once.
  std::map<const void*, const void*> done;
  for_each_matrix(w, [&](WeightMat& m) {
    if (m.dtype == target || !m.data) return;
    if (auto it = done.find(m.data); it != done.end()) {
      m.data = it->second;
      m.dtype = target;
      return;
    }
    const size_t n = size_t(m.rows) * size_t(m.cols);
    auto buf = std::make_unique<uint8_t[]>(n * dtype_size(target));
    if (target == DType::F32) {
      convert_to_f32(m.dtype, m.data, reinterpret_cast<float*>(buf.get()), n);
    } else {
      std::vector<float> row(size_t(m.cols));
      auto* dst = reinterpret_cast<uint16_t*>(buf.get());
      for (int64_t r = 0; r < m.rows; ++r) {
        weight_row_f32(m, r, row.data());
        for (int64_t c = 0; c < m.cols; ++c) dst[size_t(r) * size_t(m.cols) + size_t(c)] = f32_to_bf16(row[size_t(c)]);
      }
    }
    done[m.data] = buf.get();
    m.data = buf.get();
    m.dtype = target;
    bw.owned.push_back(std::move(buf));
  });
  w.matrix_dtype = target;

  // Random F32 parameters are no longer needed once the matrices are converted; keeping them would make the
  // resident memory of a BF16 run look like F32 + BF16.
  if (bw.params && target != DType::F32) {
    for_each_vector(w, [&](const float*& v, int64_t n) {
      if (!v) return;
      auto buf = std::make_unique<uint8_t[]>(size_t(n) * sizeof(float));
      std::memcpy(buf.get(), v, size_t(n) * sizeof(float));
      v = reinterpret_cast<const float*>(buf.get());
      bw.owned.push_back(std::move(buf));
    });
    bw.params.reset();
  }
}

}  // namespace hyb
