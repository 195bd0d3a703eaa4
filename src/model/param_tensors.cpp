#include "model/param_tensors.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace hyb {

ParamTensors::ParamTensors(const ModelConfig& cfg, size_t capacity) : cfg_(cfg), specs_(canonical_params(cfg)) {
  offsets_.push_back(0);
  for (auto& s : specs_) {
    size_t n = 1;
    for (auto d : s.shape) n *= size_t(d);
    offsets_.push_back(offsets_.back() + n);
  }
  data_.assign(std::max(offsets_.back(), capacity), 0.f);
  embed = find("model.embed_tokens.weight");
  lm_head = find("lm_head.weight");
  final_norm = find("model.norm.weight");
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    LayerParams L;
    if (cfg.layer_types[l] == LayerKind::GDN) {
      const std::string la = pre + "linear_attn.";
      L.input_norm = find(pre + "input_layernorm.weight");
      L.post_attn_norm = find(pre + "post_attention_layernorm.weight");
      L.gdn = {find(la + "q_proj.weight"), find(la + "k_proj.weight"), find(la + "v_proj.weight"),
               find(la + "a_proj.weight"), find(la + "b_proj.weight"), find(la + "g_proj.weight"),
               find(la + "o_proj.weight"), find(la + "conv1d.weight"), find(la + "A_log"),
               find(la + "dt_bias"),       find(la + "o_norm.weight")};
    } else {
      const std::string sa = pre + "self_attn.";
      L.post_attn_norm = find(pre + "post_attention_layernorm.weight");
      L.post_ff_norm = find(pre + "post_feedforward_layernorm.weight");
      L.attn = {find(sa + "q_proj.weight"), find(sa + "k_proj.weight"), find(sa + "v_proj.weight"),
                find(sa + "o_proj.weight"), find(sa + "q_norm.weight"), find(sa + "k_norm.weight")};
    }
    L.gate = find(pre + "mlp.gate_proj.weight");
    L.up = find(pre + "mlp.up_proj.weight");
    L.down = find(pre + "mlp.down_proj.weight");
    layers.push_back(L);
  }
}

float* ParamTensors::find(const std::string& name) {
  if (name == "lm_head.weight" && cfg_.tie_word_embeddings) return find("model.embed_tokens.weight");
  for (size_t i = 0; i < specs_.size(); ++i)
    if (specs_[i].name == name) return data_.data() + offsets_[i];
  return nullptr;
}

void ParamTensors::zero() {
  float* p = data_.data();
  const int64_t n = int64_t(data_.size());
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) p[i] = 0.f;
}

namespace {
void copy_mat(const WeightMat& m, float* dst) {
  if (m.dtype == DType::F32) std::memcpy(dst, m.data, size_t(m.rows * m.cols) * 4);
  else
    for (int64_t r = 0; r < m.rows; ++r) weight_row_f32(m, r, dst + r * m.cols);
}
WeightMat f32_mat(const float* p, int64_t rows, int64_t cols, Precision products = Precision::F32) {
  WeightMat m;
  m.products = products;
  m.dtype = DType::F32;
  m.data = p;
  m.rows = rows;
  m.cols = cols;
  return m;
}
}  // namespace

void ParamTensors::copy_from(const Weights& w) {
  const ModelConfig& c = w.config();
  if (c.num_hidden_layers != cfg_.num_hidden_layers || c.layer_types != cfg_.layer_types ||
      c.hidden_size != cfg_.hidden_size || c.vocab_size != cfg_.vocab_size ||
      c.tie_word_embeddings != cfg_.tie_word_embeddings)
    fail("parameter copy: the weights' config does not match the parameter layout");
  const int64_t D = c.hidden_size, Hv = c.linear_num_value_heads, dv = c.linear_value_head_dim;
  auto vec = [](const float* src, float* dst, int64_t n) { std::memcpy(dst, src, size_t(n) * 4); };
  copy_mat(w.embed, embed);
  if (!c.tie_word_embeddings) copy_mat(w.lm_head, lm_head);
  vec(w.final_norm, final_norm, D);
  for (size_t l = 0; l < layers.size(); ++l) {
    const LayerWeights& s = w.layers[l];
    LayerParams& d = layers[l];
    if (s.kind == LayerKind::GDN) {
      vec(s.input_norm, d.input_norm, D);
      vec(s.post_attn_norm, d.post_attn_norm, D);
      copy_mat(s.gdn.q, d.gdn.q); copy_mat(s.gdn.k, d.gdn.k); copy_mat(s.gdn.v, d.gdn.v);
      copy_mat(s.gdn.a, d.gdn.a); copy_mat(s.gdn.b, d.gdn.b); copy_mat(s.gdn.g, d.gdn.g);
      copy_mat(s.gdn.o, d.gdn.o);
      vec(s.gdn.conv, d.gdn.conv, c.conv_dim() * c.linear_conv_kernel_dim);
      vec(s.gdn.A_log, d.gdn.A_log, Hv);
      vec(s.gdn.dt_bias, d.gdn.dt_bias, Hv);
      vec(s.gdn.o_norm, d.gdn.o_norm, dv);
    } else {
      vec(s.post_attn_norm, d.post_attn_norm, D);
      vec(s.post_ff_norm, d.post_ff_norm, D);
      copy_mat(s.attn.q, d.attn.q); copy_mat(s.attn.k, d.attn.k); copy_mat(s.attn.v, d.attn.v);
      copy_mat(s.attn.o, d.attn.o);
      vec(s.attn.q_norm, d.attn.q_norm, c.q_dim());
      vec(s.attn.k_norm, d.attn.k_norm, c.kv_dim());
    }
    copy_mat(s.gate, d.gate); copy_mat(s.up, d.up); copy_mat(s.down, d.down);
  }
}

Weights ParamTensors::view(Precision products) const {
  const ModelConfig& c = cfg_;
  const int64_t D = c.hidden_size, I = c.intermediate_size, Hv = c.linear_num_value_heads;
  const auto mat = [products](const float* p, int64_t rows, int64_t cols) { return f32_mat(p, rows, cols, products); };
  Weights w(c);
  w.matrix_dtype = DType::F32;
  w.embed = f32_mat(embed, c.vocab_size, D);
  w.lm_head = mat(lm_head, c.vocab_size, D);
  w.final_norm = final_norm;
  for (size_t l = 0; l < layers.size(); ++l) {
    const LayerParams& s = layers[l];
    LayerWeights L;
    L.kind = c.layer_types[l];
    L.input_norm = s.input_norm;
    L.post_attn_norm = s.post_attn_norm;
    L.post_ff_norm = s.post_ff_norm;
    if (L.kind == LayerKind::GDN) {
      const int64_t kd = c.key_dim(), vd = c.value_dim();
      L.gdn.q = mat(s.gdn.q, kd, D); L.gdn.k = mat(s.gdn.k, kd, D); L.gdn.v = mat(s.gdn.v, vd, D);
      L.gdn.a = mat(s.gdn.a, Hv, D); L.gdn.b = mat(s.gdn.b, Hv, D); L.gdn.g = mat(s.gdn.g, vd, D);
      L.gdn.o = mat(s.gdn.o, D, vd);
      L.gdn.conv = s.gdn.conv; L.gdn.A_log = s.gdn.A_log; L.gdn.dt_bias = s.gdn.dt_bias;
      L.gdn.o_norm = s.gdn.o_norm;
    } else {
      L.attn.q = mat(s.attn.q, c.q_dim(), D); L.attn.k = mat(s.attn.k, c.kv_dim(), D);
      L.attn.v = mat(s.attn.v, c.kv_dim(), D); L.attn.o = mat(s.attn.o, D, c.q_dim());
      L.attn.q_norm = s.attn.q_norm; L.attn.k_norm = s.attn.k_norm;
    }
    L.gate = mat(s.gate, I, D); L.up = mat(s.up, I, D); L.down = mat(s.down, D, I);
    w.layers.push_back(L);
  }
  return w;
}

}  // namespace hyb
