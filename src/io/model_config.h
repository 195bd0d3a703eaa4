// ModelConfig: every field of an HF olmo_hybrid config.json (spec §1), defaults, derived sizes and validation.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hyb {

// Upper bounds on what a config may declare (the 7B uses 3840 / 32 layers / 100352): far above any real model, far
// below where derived sizes (vocab × hidden, layers × matrices) could overflow an int64.
constexpr int64_t kMaxModelDim = int64_t(1) << 20;   // hidden, intermediate, head counts and dims
constexpr int64_t kMaxModelLayers = 4096;
constexpr int64_t kMaxVocab = INT32_MAX;             // ids are int32 everywhere

enum class LayerKind { GDN, Attention };  // "linear_attention" / "full_attention"

struct ModelConfig {
  int64_t vocab_size = 100352;
  int64_t hidden_size = 3840;
  int64_t intermediate_size = 11008;
  int64_t num_hidden_layers = 32;
  int64_t num_attention_heads = 30;
  int64_t num_key_value_heads = 30;
  int64_t head_dim = 128;  // derived: hidden_size / num_attention_heads (there is no head_dim field)
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  double initializer_range = 0.02;
  int64_t max_position_embeddings = 65536;
  std::optional<double> rope_theta;  // nullopt = NoPE (spec §1.3)

  int64_t linear_num_key_heads = 30;
  int64_t linear_num_value_heads = 30;
  int64_t linear_key_head_dim = 96;
  int64_t linear_value_head_dim = 192;
  int64_t linear_conv_kernel_dim = 4;
  bool linear_allow_neg_eigval = true;
  double linear_a_log_min = 0.0, linear_a_log_max = 16.0;
  double linear_dt_min = 0.001, linear_dt_max = 0.1, linear_dt_init_floor = 1e-4;

  std::optional<int64_t> eos_token_id, pad_token_id, bos_token_id;
  std::vector<int64_t> eos_token_ids;  // eos_token_id may be a list in HF configs
  std::vector<LayerKind> layer_types;

  nlohmann::json raw;  // the file as read (kept so writers can round-trip unknown fields)

  int64_t key_dim() const { return linear_num_key_heads * linear_key_head_dim; }
  int64_t value_dim() const { return linear_num_value_heads * linear_value_head_dim; }
  int64_t conv_dim() const { return 2 * key_dim() + value_dim(); }
  int64_t q_dim() const { return num_attention_heads * head_dim; }
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
  int count(LayerKind k) const;

  static ModelConfig from_json(const nlohmann::json& j, const std::string& where);
  static ModelConfig load(const std::string& path);

  // The config with every derived field written out (what `hybrid init` saves).
  nlohmann::json resolved_json() const;
  std::string describe() const;
};

const char* layer_kind_name(LayerKind k);

}  // namespace hyb
