#include "model/weights.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <regex>
#include <set>

#include "core/error.h"
#include "core/huge_pages.h"
#include "kernels/quant_formats.h"
#include "model/quantize.h"

namespace hyb {

WeightDType parse_weight_dtype(const std::string& s) {
  if (s == "auto") return WeightDType::Auto;
  if (s == "f32" || s == "float32") return WeightDType::F32;
  if (s == "bf16" || s == "bfloat16") return WeightDType::BF16;
  fail("--dtype: '", s, "' is not one of auto, f32, bf16");
}

std::vector<ParamSpec> canonical_params(const ModelConfig& c) {
  const int64_t D = c.hidden_size, I = c.intermediate_size;
  std::vector<ParamSpec> p;
  p.push_back({"model.embed_tokens.weight", {c.vocab_size, D}, true});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    if (c.layer_types[l] == LayerKind::GDN) {
      const std::string la = pre + "linear_attn.";
      p.push_back({pre + "input_layernorm.weight", {D}, false});
      p.push_back({la + "q_proj.weight", {c.key_dim(), D}, true});
      p.push_back({la + "k_proj.weight", {c.key_dim(), D}, true});
      p.push_back({la + "v_proj.weight", {c.value_dim(), D}, true});
      p.push_back({la + "conv1d.weight", {c.conv_dim(), 1, c.linear_conv_kernel_dim}, false});
      p.push_back({la + "a_proj.weight", {c.linear_num_value_heads, D}, true});
      p.push_back({la + "b_proj.weight", {c.linear_num_value_heads, D}, true});
      p.push_back({la + "A_log", {c.linear_num_value_heads}, false});
      p.push_back({la + "dt_bias", {c.linear_num_value_heads}, false});
      p.push_back({la + "g_proj.weight", {c.value_dim(), D}, true});
      p.push_back({la + "o_norm.weight", {c.linear_value_head_dim}, false});
      p.push_back({la + "o_proj.weight", {D, c.value_dim()}, true});
      p.push_back({pre + "post_attention_layernorm.weight", {D}, false});
    } else {
      const std::string sa = pre + "self_attn.";
      p.push_back({sa + "q_proj.weight", {c.q_dim(), D}, true});
      p.push_back({sa + "k_proj.weight", {c.kv_dim(), D}, true});
      p.push_back({sa + "v_proj.weight", {c.kv_dim(), D}, true});
      p.push_back({sa + "o_proj.weight", {D, c.q_dim()}, true});
      p.push_back({sa + "q_norm.weight", {c.q_dim()}, false});
      p.push_back({sa + "k_norm.weight", {c.kv_dim()}, false});
      p.push_back({pre + "post_attention_layernorm.weight", {D}, false});
      p.push_back({pre + "post_feedforward_layernorm.weight", {D}, false});
    }
    p.push_back({pre + "mlp.gate_proj.weight", {I, D}, true});
    p.push_back({pre + "mlp.up_proj.weight", {I, D}, true});
    p.push_back({pre + "mlp.down_proj.weight", {D, I}, true});
  }
  p.push_back({"model.norm.weight", {D}, false});
  if (!c.tie_word_embeddings) p.push_back({"lm_head.weight", {c.vocab_size, D}, true});
  return p;
}

namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

// Maps a file tensor name to its canonical HF name (spec §4.2). Split conv parts keep their own names and are
// fused later. Returns "" for tensors to skip silently (rotary inv_freq buffers).
std::string canonical_name(const std::string& name, const ModelConfig& c) {
  if (name.size() >= 20 && name.rfind("rotary_emb.inv_freq") == name.size() - 19) return "";
  static const std::regex hf_layer(R"(^model\.layers\.(\d+)\.(.+)$)");
  static const std::regex core_layer(R"(^blocks\.(\d+)\.(.+)$)");
  std::smatch m;
  if (std::regex_match(name, m, hf_layer)) {
    const int64_t l = std::stoll(m[1]);
    std::string rest = m[2];
    if (l < c.num_hidden_layers && c.layer_types[l] == LayerKind::GDN) {
      static const std::map<std::string, std::string> alias = {
          {"attention_layer_norm.weight", "input_layernorm.weight"},
          {"feedforward_layer_norm.weight", "post_attention_layernorm.weight"},
          {"linear_attn.out_proj.weight", "linear_attn.o_proj.weight"},
          {"linear_attn.norm.weight", "linear_attn.o_norm.weight"}};
      auto it = alias.find(rest);
      if (it != alias.end()) rest = it->second;
    }
    return "model.layers." + std::to_string(l) + "." + rest;
  }
  if (std::regex_match(name, m, core_layer)) {  // OLMo-core native names
    const int64_t l = std::stoll(m[1]);
    const std::string rest = m[2];
    if (l >= c.num_hidden_layers) return name;
    const bool gdn = c.layer_types[l] == LayerKind::GDN;
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    const std::string mix = gdn ? "linear_attn." : "self_attn.";
    static const std::map<std::string, std::string> common = {
        {"feed_forward.w1.weight", "mlp.gate_proj.weight"},
        {"feed_forward.w2.weight", "mlp.down_proj.weight"},
        {"feed_forward.w3.weight", "mlp.up_proj.weight"}};
    if (auto it = common.find(rest); it != common.end()) return pre + it->second;
    if (rest == "attention_norm.weight") return pre + (gdn ? "input_layernorm.weight" : "post_attention_layernorm.weight");
    if (rest == "feed_forward_norm.weight")
      return pre + (gdn ? "post_attention_layernorm.weight" : "post_feedforward_layernorm.weight");
    static const std::map<std::string, std::string> attn = {
        {"w_q.weight", "q_proj.weight"}, {"w_k.weight", "k_proj.weight"}, {"w_v.weight", "v_proj.weight"},
        {"w_out.weight", "o_proj.weight"}, {"w_a.weight", "a_proj.weight"}, {"w_b.weight", "b_proj.weight"},
        {"w_g.weight", "g_proj.weight"}, {"q_norm.weight", "q_norm.weight"}, {"k_norm.weight", "k_norm.weight"},
        {"o_norm.weight", "o_norm.weight"}, {"A_log", "A_log"}, {"dt_bias", "dt_bias"},
        {"q_conv1d.weight", "q_conv1d.weight"}, {"k_conv1d.weight", "k_conv1d.weight"},
        {"v_conv1d.weight", "v_conv1d.weight"}, {"conv1d.weight", "conv1d.weight"}};
    if (rest.rfind("attention.", 0) == 0) {
      auto it = attn.find(rest.substr(10));
      if (it != attn.end()) return pre + mix + it->second;
    }
    return name;
  }
  if (name == "embeddings.weight") return "model.embed_tokens.weight";
  if (name == "lm_head.norm.weight") return "model.norm.weight";
  if (name == "lm_head.w_out.weight") return "lm_head.weight";
  return name;
}

}  // namespace

std::string canonical_param_name(const std::string& file_name, const ModelConfig& cfg) {
  return canonical_name(file_name, cfg);
}

// Drops mapped file pages we have copied from, so they stop counting against resident memory.
void release_pages(const void* p, size_t n) {
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  const uintptr_t b = (uintptr_t(p) + page - 1) & ~(page - 1), e = (uintptr_t(p) + n) & ~(page - 1);
  if (e > b) madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);
}

struct WeightLoader {
  Weights& w;
  DType target;
  bool use_mmap;

  uint8_t* alloc(size_t bytes) {
    w.arena_.push_back(alloc_huge(bytes));
    return w.arena_.back().get();
  }

  const float* vec_f32(const TensorView& t) {
    float* out = reinterpret_cast<float*>(alloc(size_t(t.numel()) * 4));
    convert_to_f32(t.dtype, t.data, out, size_t(t.numel()));
    return out;
  }

  // A quantized disk tensor (+ its scales) as a memory-format matrix, or dequantized when the caller asked for
  // f32/bf16 explicitly.
  WeightMat quant_matrix(const TensorView& t, const TensorView* sc, DType fmt, int64_t N, int64_t K) {
    const DType want_disk = fmt == DType::Q8_0 ? DType::I8 : DType::U8;
    if (t.dtype != want_disk)
      fail(t.file, ": tensor '", t.name, "': dtype ", dtype_name(t.dtype), ", but ", quant_format_name(fmt),
           " stores ", dtype_name(want_disk));
    const int64_t nb = quant_blocks(K), rb = quant_disk_row_bytes(fmt, K);
    if (t.shape != std::vector<int64_t>{N, rb})
      fail(t.file, ": tensor '", t.name, "': shape ", t.shape_str(), ", expected [", N, ", ", rb, "] for ",
           quant_format_name(fmt), " of a [", N, ", ", K, "] matrix");
    if (!sc) fail(t.file, ": quantized tensor '", t.name, "' has no '", t.name, ".scales'");
    if (sc->dtype != DType::F16)
      fail(sc->file, ": tensor '", sc->name, "': dtype ", dtype_name(sc->dtype), ", expected F16");
    if (sc->shape != std::vector<int64_t>{N, nb})
      fail(sc->file, ": tensor '", sc->name, "': shape ", sc->shape_str(), ", expected [", N, ", ", nb,
           "] (one scale per ", kQuantBlock, " weights)");
    const uint16_t* scales = reinterpret_cast<const uint16_t*>(sc->data);
    WeightMat m;
    m.rows = N;
    m.cols = K;
    if (target == fmt) {
      m.dtype = fmt;
      uint8_t* out = alloc(quant_matrix_bytes(fmt, N, K));
      if (reinterpret_cast<uintptr_t>(scales) % 2 == 0) {
        quant_pack(fmt, t.data, scales, N, K, out);
      } else {
        std::vector<uint16_t> s(size_t(N * nb));
        std::memcpy(s.data(), sc->data, sc->nbytes);
        quant_pack(fmt, t.data, s.data(), N, K, out);
      }
      m.data = out;
      return m;
    }
    std::vector<uint16_t> s(size_t(N * nb));
    std::memcpy(s.data(), sc->data, sc->nbytes);
    float* f = reinterpret_cast<float*>(alloc(size_t(N * K) * 4));
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < N; ++r) dequantize_row(fmt, t.data + r * rb, s.data() + r * nb, K, f + r * K);
    m.dtype = DType::F32;
    m.data = f;
    if (target == DType::BF16) {
      uint16_t* h = reinterpret_cast<uint16_t*>(alloc(size_t(N * K) * 2));
      for (int64_t i = 0; i < N * K; ++i) h[i] = f32_to_bf16(f[i]);
      m.dtype = DType::BF16;
      m.data = h;
    }
    return m;
  }

  WeightMat matrix(const TensorView& t) {
    WeightMat m;
    m.rows = t.shape[0];
    m.cols = t.shape[1];
    // Unquantized tensors of a quantized checkpoint (a kept embedding) load in their own float dtype.
    const DType target = is_quant_dtype(this->target) ? (t.dtype == DType::BF16 ? DType::BF16 : DType::F32)
                                                      : this->target;
    m.dtype = target;
    const size_t n = size_t(t.numel());
    const bool aligned = reinterpret_cast<uintptr_t>(t.data) % dtype_size(target) == 0;
    if (t.dtype == target && aligned && use_mmap) {
      m.data = t.data;  // zero-copy view into the mapped file
      return m;
    }
    if (t.dtype == target) {
      uint8_t* out = alloc(t.nbytes);
      std::memcpy(out, t.data, t.nbytes);
      release_pages(t.data, t.nbytes);
      m.data = out;
      return m;
    }
    if (target == DType::F32) {
      float* out = reinterpret_cast<float*>(alloc(n * 4));
      convert_to_f32(t.dtype, t.data, out, n);
      m.data = out;
    } else {  // BF16 target
      uint16_t* out = reinterpret_cast<uint16_t*>(alloc(n * 2));
      if (t.dtype == DType::BF16) {
        std::memcpy(out, t.data, n * 2);
      } else {
        std::vector<float> tmp(std::min<size_t>(n, 1 << 20));
        for (size_t i0 = 0; i0 < n; i0 += tmp.size()) {
          const size_t k = std::min(tmp.size(), n - i0);
          convert_to_f32(t.dtype, t.data + i0 * dtype_size(t.dtype), tmp.data(), k);
          for (size_t i = 0; i < k; ++i) out[i0 + i] = f32_to_bf16(tmp[i]);
        }
      }
      m.data = out;
    }
    return m;
  }
};

Weights Weights::load(const std::string& dir, WeightDType want, bool use_mmap) {
  Weights w;
  w.ckpt_ = std::make_shared<Checkpoint>(dir);
  const Checkpoint& ck = *w.ckpt_;
  const ModelConfig& c = ck.config();
  w.cfg_ = c;
  const int64_t K = c.linear_conv_kernel_dim;

  // 1. Canonical names.
  std::map<std::string, const TensorView*> canon;
  std::map<std::string, std::map<char, const TensorView*>> split_conv;  // layer prefix -> q/k/v parts
  std::vector<std::string> unexpected;
  std::set<std::string> expected_names;
  const auto specs = canonical_params(c);
  for (auto& s : specs) expected_names.insert(s.name);
  bool saw_lm_head_tied = false;
  const DType qfmt = config_quant_format(c, dir + "/config.json");
  std::map<std::string, const TensorView*> scales;  // canonical matrix name -> "<name>.scales"
  for (auto& [name, view] : ck.tensors()) {
    const bool quant_data = view.dtype == DType::I8 || view.dtype == DType::U8;
    if (quant_data && !is_quant_dtype(qfmt))
      fail(view.file, ": tensor '", name, "': dtype ", dtype_name(view.dtype),
           " (quantized?) but config.json has no quantization_config");
    if (!quant_data && view.dtype != DType::F32 && view.dtype != DType::BF16 && view.dtype != DType::F16 &&
        view.dtype != DType::F64)
      fail(view.file, ": tensor '", name, "': dtype ", dtype_name(view.dtype), " is not a floating-point weight type");
    if (name.size() > 7 && name.compare(name.size() - 7, 7, ".scales") == 0) {
      if (!is_quant_dtype(qfmt))
        fail(view.file, ": tensor '", name, "' holds quantization scales but config.json has no quantization_config");
      scales[canonical_name(name.substr(0, name.size() - 7), c)] = &view;
      continue;
    }
    std::string cn = canonical_name(name, c);
    if (cn.empty()) continue;
    static const std::regex split(R"(^(model\.layers\.\d+\.linear_attn\.)([qkv])_conv1d\.weight$)");
    std::smatch m;
    if (std::regex_match(cn, m, split)) {
      split_conv[m[1]][std::string(m[2])[0]] = &view;
      continue;
    }
    if (cn == "lm_head.weight" && c.tie_word_embeddings) { saw_lm_head_tied = true; continue; }
    if (!expected_names.count(cn)) { unexpected.push_back(name); continue; }
    if (!canon.emplace(cn, &view).second)
      fail(dir, ": checkpoint has two tensors for '", cn, "' (an alias and its canonical name?)");
  }
  if (saw_lm_head_tied)
    std::fprintf(stderr, "warning: %s: tie_word_embeddings is true; ignoring lm_head.weight in the checkpoint\n",
                 dir.c_str());
  if (!unexpected.empty()) {
    std::string ex;
    for (size_t i = 0; i < unexpected.size() && i < 4; ++i) ex += (i ? ", " : "") + unexpected[i];
    fail(dir, ": checkpoint has ", unexpected.size(), " tensors this config does not use, e.g. ", ex);
  }

  // 2. Shapes: matrices and vectors exact, conv in [C,1,K] or MLX [C,K,1] layout, fused or split.
  w.matrix_dtype = DType::F32;
  if (want == WeightDType::BF16) w.matrix_dtype = DType::BF16;
  if (want == WeightDType::Auto && is_quant_dtype(qfmt)) {
    w.matrix_dtype = qfmt;
  } else if (want == WeightDType::Auto) {
    auto it = canon.find("model.embed_tokens.weight");
    if (it != canon.end() && it->second->dtype == DType::BF16) w.matrix_dtype = DType::BF16;
  }
  WeightLoader ld{w, w.matrix_dtype, use_mmap};
  std::map<std::string, const float*> vecs;
  std::map<std::string, WeightMat> mats;
  auto conv_taps = [&](const TensorView& t, int64_t channels, float* dst) {
    // dst [channels, K]
    const bool std_layout = t.shape.size() == 3 && t.shape[0] == channels && t.shape[1] == 1 && t.shape[2] == K;
    const bool mlx_layout = t.shape.size() == 3 && t.shape[0] == channels && t.shape[1] == K && t.shape[2] == 1;
    if (!std_layout && !mlx_layout)
      fail(t.file, ": tensor '", t.name, "': shape ", t.shape_str(), ", expected [", channels, ", 1, ", K, "]");
    convert_to_f32(t.dtype, t.data, dst, size_t(channels * K));  // both layouts are [C][K] in memory
  };
  for (auto& s : specs) {
    const bool is_conv = s.name.size() > 13 && s.name.compare(s.name.size() - 13, 13, "conv1d.weight") == 0;
    if (is_conv) {
      const std::string prefix = s.name.substr(0, s.name.size() - 13);
      auto fused = canon.find(s.name);
      auto parts = split_conv.find(prefix);
      if (fused != canon.end() && parts != split_conv.end())
        fail(dir, ": both fused '", s.name, "' and split q/k/v_conv1d weights are present");
      float* taps = reinterpret_cast<float*>(ld.alloc(size_t(c.conv_dim() * K) * 4));
      if (fused != canon.end()) {
        conv_taps(*fused->second, c.conv_dim(), taps);
      } else if (parts != split_conv.end()) {
        int64_t off = 0;
        for (char p : {'q', 'k', 'v'}) {
          const int64_t width = p == 'v' ? c.value_dim() : c.key_dim();
          auto it = parts->second.find(p);
          if (it == parts->second.end()) fail(dir, ": missing tensor '", prefix, p, "_conv1d.weight'");
          conv_taps(*it->second, width, taps + off * K);
          off += width;
        }
      } else {
        fail(dir, ": missing tensor '", s.name, "' (or its split q/k/v_conv1d parts)");
      }
      vecs[s.name] = taps;
      continue;
    }
    auto it = canon.find(s.name);
    if (it == canon.end()) fail(dir, ": missing tensor '", s.name, "' (expected shape ", shape_str(s.shape), ")");
    const TensorView& t = *it->second;
    if (t.dtype == DType::I8 || t.dtype == DType::U8) {
      if (!s.matrix)
        fail(t.file, ": tensor '", t.name, "': dtype ", dtype_name(t.dtype), ", but only linear weights may be quantized");
      auto sc = scales.find(s.name);
      mats[s.name] = ld.quant_matrix(t, sc == scales.end() ? nullptr : sc->second, qfmt, s.shape[0], s.shape[1]);
      if (sc != scales.end()) scales.erase(sc);
      continue;
    }
    if (scales.count(s.name))
      fail(scales[s.name]->file, ": tensor '", scales[s.name]->name, "' scales a tensor that is not quantized");
    if (t.shape != s.shape)
      fail(t.file, ": tensor '", t.name, "': shape ", t.shape_str(), ", expected ", shape_str(s.shape));
    if (s.matrix) mats[s.name] = ld.matrix(t);
    else vecs[s.name] = ld.vec_f32(t);
  }
  if (!scales.empty())
    fail(scales.begin()->second->file, ": tensor '", scales.begin()->second->name, "' scales no quantized tensor");
  for (auto& [prefix, parts] : split_conv)
    if (!expected_names.count(prefix + "conv1d.weight"))
      fail(dir, ": split conv weights '", prefix, "*_conv1d.weight' belong to no GDN layer of this config");

  // 3. Wire up the views.
  w.embed = mats["model.embed_tokens.weight"];
  w.lm_head = c.tie_word_embeddings ? w.embed : mats["lm_head.weight"];
  w.final_norm = vecs["model.norm.weight"];
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    LayerWeights L;
    L.kind = c.layer_types[l];
    if (L.kind == LayerKind::GDN) {
      const std::string la = pre + "linear_attn.";
      L.input_norm = vecs[pre + "input_layernorm.weight"];
      L.post_attn_norm = vecs[pre + "post_attention_layernorm.weight"];
      L.gdn.q = mats[la + "q_proj.weight"];
      L.gdn.k = mats[la + "k_proj.weight"];
      L.gdn.v = mats[la + "v_proj.weight"];
      L.gdn.a = mats[la + "a_proj.weight"];
      L.gdn.b = mats[la + "b_proj.weight"];
      L.gdn.g = mats[la + "g_proj.weight"];
      L.gdn.o = mats[la + "o_proj.weight"];
      L.gdn.conv = vecs[la + "conv1d.weight"];
      L.gdn.A_log = vecs[la + "A_log"];
      L.gdn.dt_bias = vecs[la + "dt_bias"];
      L.gdn.o_norm = vecs[la + "o_norm.weight"];
    } else {
      const std::string sa = pre + "self_attn.";
      L.attn.q = mats[sa + "q_proj.weight"];
      L.attn.k = mats[sa + "k_proj.weight"];
      L.attn.v = mats[sa + "v_proj.weight"];
      L.attn.o = mats[sa + "o_proj.weight"];
      L.attn.q_norm = vecs[sa + "q_norm.weight"];
      L.attn.k_norm = vecs[sa + "k_norm.weight"];
      L.post_attn_norm = vecs[pre + "post_attention_layernorm.weight"];
      L.post_ff_norm = vecs[pre + "post_feedforward_layernorm.weight"];
    }
    L.gate = mats[pre + "mlp.gate_proj.weight"];
    L.up = mats[pre + "mlp.up_proj.weight"];
    L.down = mats[pre + "mlp.down_proj.weight"];
    w.layers.push_back(L);
  }
  return w;
}

size_t Weights::param_count() const {
  size_t n = 0;
  for (auto& s : canonical_params(cfg_)) n += s.numel();
  return n;
}

size_t Weights::resident_bytes() const {
  size_t n = 0;
  for (auto& s : canonical_params(cfg_))
    if (!s.matrix) n += s.numel() * 4;
  n += embed.bytes();
  if (lm_head.data != embed.data) n += lm_head.bytes();
  for (auto& L : layers)
    for (const WeightMat* m : {&L.gdn.q, &L.gdn.k, &L.gdn.v, &L.gdn.a, &L.gdn.b, &L.gdn.g, &L.gdn.o, &L.attn.q,
                               &L.attn.k, &L.attn.v, &L.attn.o, &L.gate, &L.up, &L.down})
      if (m->data) n += m->bytes();
  return n;
}

}  // namespace hyb
