#include "io/model_config.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/json_parse.h"
#include "core/error.h"

namespace hyb {

using json = nlohmann::json;

const char* layer_kind_name(LayerKind k) { return k == LayerKind::GDN ? "linear_attention" : "full_attention"; }

int ModelConfig::count(LayerKind k) const {
  int n = 0;
  for (auto t : layer_types) n += t == k;
  return n;
}

namespace {

struct Reader {
  const json& j;
  const std::string& where;
  JsonFields f{j, where};

  [[noreturn]] void bad(const std::string& key, const std::string& kind) const { f.bad(key, kind); }
  bool has(const std::string& key) const { return f.has(key); }
  int64_t pos_int(const std::string& key, int64_t def, int64_t hi = kMaxModelDim) const {
    return f.integer(key, def, 1, hi);
  }
  double number(const std::string& key, double def, bool positive) const {
    if (!has(key)) return def;
    const json& v = j.at(key);
    if (!v.is_number() || !std::isfinite(v.get<double>()) || (positive && !(v.get<double>() > 0)))
      bad(key, positive ? "a positive number" : "a number");
    return v.get<double>();
  }
  bool boolean(const std::string& key, bool def) const { return f.boolean(key, def); }
  std::string string(const std::string& key, const std::string& def) const { return f.string(key, def); }
  std::optional<int64_t> opt_id(const std::string& key) const {
    if (!has(key)) return std::nullopt;
    const json& v = j.at(key);
    int64_t id = 0;
    if (v.is_array()) {
      if (v.empty()) return std::nullopt;
      if (!json_int_in(v[0], 0, kMaxVocab - 1, &id)) bad(key, "a token id or a list of token ids");
      return id;
    }
    if (!json_int_in(v, 0, kMaxVocab - 1, &id)) bad(key, "a token id (a non-negative integer)");
    return id;
  }
};

// transformers normalises rope settings on load: an explicit null theta (in rope_parameters or at top level)
// keeps NoPE; otherwise a missing theta becomes the default 10000 (spec §1.3).
std::optional<double> effective_rope_theta(const json& j, const std::string& where) {
  const json* rp = j.contains("rope_parameters") ? &j.at("rope_parameters") : nullptr;
  if (rp && !rp->is_null() && !rp->is_object()) fail(where, ": field 'rope_parameters' must be an object or null");
  bool rp_obj = rp && rp->is_object();
  if (rp_obj) {
    std::string type = "default";
    for (const char* k : {"rope_type", "type"})
      if (rp->contains(k) && !rp->at(k).is_null()) {
        if (!rp->at(k).is_string()) fail(where, ": field 'rope_parameters.", k, "' must be a string");
        type = rp->at(k).get<std::string>();
        break;
      }
    if (type != "default") fail(where, ": rope_type '", type, "' is not supported (only 'default')");
  }
  const json* theta = nullptr;
  std::string field;
  if (rp_obj && rp->contains("rope_theta")) {
    theta = &rp->at("rope_theta");
    field = "rope_parameters.rope_theta";
  } else if (j.contains("rope_theta")) {
    theta = &j.at("rope_theta");
    field = "rope_theta";
  }
  if (!theta) return 10000.0;
  if (theta->is_null()) return std::nullopt;
  if (!theta->is_number() || !(theta->get<double>() > 0) || !std::isfinite(theta->get<double>()))
    fail(where, ": field '", field, "' must be a positive number or null, got ", theta->dump());
  return theta->get<double>();
}

}  // namespace

ModelConfig ModelConfig::from_json(const json& j, const std::string& where) {
  if (!j.is_object()) fail(where, ": top level must be a JSON object");
  Reader r{j, where};
  ModelConfig c;
  c.raw = j;
  std::string mt = r.string("model_type", "olmo_hybrid");
  if (mt != "olmo_hybrid") fail(where, ": model_type is '", mt, "', expected 'olmo_hybrid'");
  std::string act = r.string("hidden_act", "silu");
  if (act != "silu") fail(where, ": hidden_act '", act, "' is not supported (only 'silu')");
  if (r.boolean("attention_bias", false)) fail(where, ": attention_bias=true is not supported by olmo_hybrid");

  c.vocab_size = r.pos_int("vocab_size", 100352, kMaxVocab);
  c.hidden_size = r.pos_int("hidden_size", 3840);
  c.intermediate_size = r.pos_int("intermediate_size", 11008);
  c.num_hidden_layers = r.pos_int("num_hidden_layers", 32, kMaxModelLayers);
  c.num_attention_heads = r.pos_int("num_attention_heads", 30);
  c.num_key_value_heads = r.pos_int("num_key_value_heads", c.num_attention_heads);
  if (c.hidden_size % c.num_attention_heads)
    fail(where, ": hidden_size ", c.hidden_size, " is not divisible by num_attention_heads ", c.num_attention_heads);
  c.head_dim = c.hidden_size / c.num_attention_heads;
  if (c.num_attention_heads % c.num_key_value_heads)
    fail(where, ": num_attention_heads ", c.num_attention_heads, " is not a multiple of num_key_value_heads ",
         c.num_key_value_heads);
  c.rms_norm_eps = r.number("rms_norm_eps", 1e-6, true);
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
  c.initializer_range = r.number("initializer_range", 0.02, true);
  c.max_position_embeddings = r.pos_int("max_position_embeddings", 65536, INT32_MAX);
  c.rope_theta = effective_rope_theta(j, where);

  c.linear_num_key_heads = r.pos_int("linear_num_key_heads", c.num_attention_heads);
  c.linear_num_value_heads = r.pos_int("linear_num_value_heads", c.num_attention_heads);
  if (c.linear_num_value_heads % c.linear_num_key_heads)
    fail(where, ": linear_num_value_heads ", c.linear_num_value_heads, " is not a multiple of linear_num_key_heads ",
         c.linear_num_key_heads);
  int64_t dk_default = int64_t(0.75 * double(c.hidden_size) / double(c.linear_num_key_heads));
  if (!r.has("linear_key_head_dim") && dk_default < 1)
    fail(where, ": derived linear_key_head_dim is 0; set it explicitly");
  c.linear_key_head_dim = r.pos_int("linear_key_head_dim", dk_default);
  c.linear_value_head_dim = r.pos_int("linear_value_head_dim", 2 * c.linear_key_head_dim);
  c.linear_conv_kernel_dim = r.pos_int("linear_conv_kernel_dim", 4);
  if (c.linear_conv_kernel_dim > 64) fail(where, ": linear_conv_kernel_dim ", c.linear_conv_kernel_dim, " is too large");
  c.linear_allow_neg_eigval = r.boolean("linear_allow_neg_eigval", true);
  c.linear_a_log_min = r.number("linear_a_log_min", 0.0, false);
  c.linear_a_log_max = r.number("linear_a_log_max", 16.0, false);
  c.linear_dt_min = r.number("linear_dt_min", 0.001, true);
  c.linear_dt_max = r.number("linear_dt_max", 0.1, true);
  c.linear_dt_init_floor = r.number("linear_dt_init_floor", 1e-4, true);

  c.eos_token_id = r.opt_id("eos_token_id");
  if (r.has("eos_token_id")) {
    const json& v = j.at("eos_token_id");
    if (v.is_array()) {
      for (auto& e : v) {
        int64_t id = 0;
        if (!json_int_in(e, 0, kMaxVocab - 1, &id)) fail(where, ": field 'eos_token_id' must hold token ids");
        c.eos_token_ids.push_back(id);
      }
    } else {
      c.eos_token_ids.push_back(*c.eos_token_id);
    }
  }
  c.pad_token_id = r.opt_id("pad_token_id");
  c.bos_token_id = r.opt_id("bos_token_id");

  const int64_t L = c.num_hidden_layers;
  if (r.has("layer_types")) {
    const json& lt = j.at("layer_types");
    if (!lt.is_array() || int64_t(lt.size()) != L)
      fail(where, ": layer_types must be a list of num_hidden_layers=", L, " entries");
    for (size_t i = 0; i < lt.size(); ++i) {
      std::string s = lt[i].is_string() ? lt[i].get<std::string>() : lt[i].dump();
      if (s == "linear_attention") c.layer_types.push_back(LayerKind::GDN);
      else if (s == "full_attention") c.layer_types.push_back(LayerKind::Attention);
      else fail(where, ": layer_types[", i, "] is '", s, "', expected 'linear_attention' or 'full_attention'");
    }
  } else {
    for (int64_t i = 0; i < L; ++i) c.layer_types.push_back(i % 4 == 3 ? LayerKind::Attention : LayerKind::GDN);
    if (c.count(LayerKind::Attention) == 0) c.layer_types.back() = LayerKind::Attention;
  }
  return c;
}

ModelConfig ModelConfig::load(const std::string& path) {
  return from_json(read_json_file(path, size_t(16) << 20), path);
}

json ModelConfig::resolved_json() const {
  json out = raw.is_object() ? raw : json::object();
  if (!out.contains("architectures")) out["architectures"] = {"OlmoHybridForCausalLM"};
  out["model_type"] = "olmo_hybrid";
  out["vocab_size"] = vocab_size;
  out["hidden_size"] = hidden_size;
  out["intermediate_size"] = intermediate_size;
  out["num_hidden_layers"] = num_hidden_layers;
  out["num_attention_heads"] = num_attention_heads;
  out["num_key_value_heads"] = num_key_value_heads;
  out["rms_norm_eps"] = rms_norm_eps;
  out["tie_word_embeddings"] = tie_word_embeddings;
  json lt = json::array();
  for (auto k : layer_types) lt.push_back(layer_kind_name(k));
  out["layer_types"] = lt;
  out["linear_num_key_heads"] = linear_num_key_heads;
  out["linear_num_value_heads"] = linear_num_value_heads;
  out["linear_key_head_dim"] = linear_key_head_dim;
  out["linear_value_head_dim"] = linear_value_head_dim;
  out["linear_conv_kernel_dim"] = linear_conv_kernel_dim;
  out["linear_allow_neg_eigval"] = linear_allow_neg_eigval;
  out.erase("rope_theta");
  out["rope_parameters"] = {{"rope_type", "default"},
                            {"rope_theta", rope_theta ? json(*rope_theta) : json(nullptr)}};
  return out;
}

std::string ModelConfig::describe() const {
  std::ostringstream os;
  os << "D=" << hidden_size << " L=" << num_hidden_layers << " (" << count(LayerKind::GDN) << " GDN, "
     << count(LayerKind::Attention) << " attention) H=" << num_attention_heads << " Hkv=" << num_key_value_heads
     << " hd=" << head_dim << " I=" << intermediate_size << " V=" << vocab_size
     << " GDN Hk=" << linear_num_key_heads << " Hv=" << linear_num_value_heads << " dk=" << linear_key_head_dim
     << " dv=" << linear_value_head_dim << " K=" << linear_conv_kernel_dim
     << " neg_eigval=" << (linear_allow_neg_eigval ? "true" : "false") << " "
     << (rope_theta ? str("RoPE theta=", *rope_theta) : std::string("NoPE"));
  return os.str();
}

}  // namespace hyb
