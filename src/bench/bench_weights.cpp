#include "bench/bench_weights.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>

#include "core/huge_pages.h"
#include "core/json_parse.h"
#include "core/error.h"
#include "model/init.h"
#include "model/quantize.h"
#include "model/param_tensors.h"
#include "train/run_config.h"

namespace hyb {

BenchWeights::~BenchWeights() = default;

ModelConfig load_bench_config(const std::string& path, int64_t vocab_size) {
  const nlohmann::json j = read_json_file(path, size_t(16) << 20);
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

namespace {

// Benchmarks time reads and arithmetic, not values: a matrix gets uniform values with the init's standard deviation
// from a counter-based hash, in parallel (the 7B's 7.4e9 Box-Muller normals alone took about two minutes here).
void fast_matrix_fill(float* out, int64_t n, double std_dev, uint64_t seed, uint64_t stream) {
  const float a = float(std_dev * 1.7320508075688772);  // uniform on [-a, a) has standard deviation a / sqrt(3)
  const uint64_t key = seed * 0x9e3779b97f4a7c15ull ^ stream * 0xd1b54a32d192ed03ull;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    uint64_t z = key + uint64_t(i) * 0x9e3779b97f4a7c15ull;  // splitmix64 of the index
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    out[i] = a * (float(z >> 40) * 0x1.0p-23f - 1.0f);
  }
}

DType bench_dtype(const std::string& dtype) {
  if (dtype == "f32") return DType::F32;
  if (dtype == "bf16") return DType::BF16;
  if (dtype == "int8" || dtype == "q4") return parse_quant_type(dtype, "--dtype");
  fail("--dtype ", dtype, ": unknown (f32 | bf16 | int8 | q4)");
}

size_t matrix_bytes(DType t, int64_t rows, int64_t cols) { return WeightMat{t, nullptr, rows, cols}.bytes(); }

}  // namespace

double bench_weight_bytes(const ModelConfig& cfg, const std::string& dtype) {
  const DType t = bench_dtype(dtype);
  double bytes = 0, largest = 0;
  for (const auto& p : canonical_params(cfg)) {
    largest = std::max(largest, 4.0 * double(p.numel()));
    bytes += p.matrix ? double(matrix_bytes(t, p.shape[0], p.shape[1])) : 4.0 * double(p.numel());
  }
  return t == DType::F32 ? bytes : bytes + largest;  // one F32 tensor at a time while building
}

std::unique_ptr<BenchWeights> random_bench_weights(const ModelConfig& cfg, uint64_t seed, const std::string& dtype) {
  const DType target = bench_dtype(dtype);
  if (target == DType::F32) return random_bench_weights(cfg, seed);
  // Tensor by tensor: draw in F32, encode, keep only the encoded copy, so the peak is the model in its dtype plus
  // one F32 tensor (the 7B in 4-bit fits where its F32 weights would not).
  auto bw = std::make_unique<BenchWeights>();
  std::map<std::string, WeightMat> mats;
  std::map<std::string, const float*> vecs;
  const auto specs = canonical_params(cfg);
  std::vector<float> tmp;
  for (size_t i = 0; i < specs.size(); ++i) {
    const ParamSpec& p = specs[i];
    tmp.resize(p.numel());
    if (p.matrix) fast_matrix_fill(tmp.data(), int64_t(p.numel()), cfg.initializer_range, seed, uint64_t(i + 1));
    else init_values(cfg, p.name, seed, uint64_t(i + 1), tmp.data(), int64_t(p.numel()));
    HugeBuffer buf;
    if (p.matrix) {
      const WeightMat src{DType::F32, tmp.data(), p.shape[0], p.shape[1]};
      if (is_quant_dtype(target)) {
        buf = quantize_matrix(target, src);
      } else {
        buf = alloc_huge(p.numel() * 2);
        auto* dst = reinterpret_cast<uint16_t*>(buf.get());
#pragma omp parallel for schedule(static)
        for (int64_t k = 0; k < int64_t(p.numel()); ++k) dst[k] = f32_to_bf16(tmp[size_t(k)]);
      }
      mats[p.name] = {target, buf.get(), p.shape[0], p.shape[1]};
    } else {
      buf = alloc_huge(p.numel() * sizeof(float));
      std::memcpy(buf.get(), tmp.data(), p.numel() * sizeof(float));
      vecs[p.name] = reinterpret_cast<const float*>(buf.get());
    }
    bw->owned.push_back(std::move(buf));
  }
  // The same views ParamTensors::view() builds, by canonical name.
  auto mat = [&](const std::string& n) { return mats.at(n); };
  auto vec = [&](const std::string& n) { return vecs.at(n); };
  Weights w(cfg);
  w.matrix_dtype = target;
  w.embed = mat("model.embed_tokens.weight");
  w.lm_head = cfg.tie_word_embeddings ? w.embed : mat("lm_head.weight");
  w.final_norm = vec("model.norm.weight");
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    LayerWeights L;
    L.kind = cfg.layer_types[size_t(l)];
    L.post_attn_norm = vec(pre + "post_attention_layernorm.weight");
    if (L.kind == LayerKind::GDN) {
      const std::string la = pre + "linear_attn.";
      L.input_norm = vec(pre + "input_layernorm.weight");
      L.gdn.q = mat(la + "q_proj.weight"); L.gdn.k = mat(la + "k_proj.weight"); L.gdn.v = mat(la + "v_proj.weight");
      L.gdn.a = mat(la + "a_proj.weight"); L.gdn.b = mat(la + "b_proj.weight"); L.gdn.g = mat(la + "g_proj.weight");
      L.gdn.o = mat(la + "o_proj.weight");
      L.gdn.conv = vec(la + "conv1d.weight"); L.gdn.A_log = vec(la + "A_log"); L.gdn.dt_bias = vec(la + "dt_bias");
      L.gdn.o_norm = vec(la + "o_norm.weight");
    } else {
      const std::string sa = pre + "self_attn.";
      L.post_ff_norm = vec(pre + "post_feedforward_layernorm.weight");
      L.attn.q = mat(sa + "q_proj.weight"); L.attn.k = mat(sa + "k_proj.weight");
      L.attn.v = mat(sa + "v_proj.weight"); L.attn.o = mat(sa + "o_proj.weight");
      L.attn.q_norm = vec(sa + "q_norm.weight"); L.attn.k_norm = vec(sa + "k_norm.weight");
    }
    L.gate = mat(pre + "mlp.gate_proj.weight"); L.up = mat(pre + "mlp.up_proj.weight");
    L.down = mat(pre + "mlp.down_proj.weight");
    w.layers.push_back(L);
  }
  bw->weights = std::move(w);
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
    auto buf = alloc_huge(n * dtype_size(target));
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
      auto buf = alloc_huge(size_t(n) * sizeof(float));
      std::memcpy(buf.get(), v, size_t(n) * sizeof(float));
      v = reinterpret_cast<const float*>(buf.get());
      bw.owned.push_back(std::move(buf));
    });
    bw.params.reset();
  }
}

}  // namespace hyb
