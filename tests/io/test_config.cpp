#include "core/error.h"
#include "io/model_config.h"
#include "test_util.h"

using namespace hyb;
using json = nlohmann::json;

namespace {
ModelConfig cfg(json j) { return ModelConfig::from_json(j, "config.json"); }
std::string error_of(json j) {
  try {
    cfg(j);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Config, DefaultsAreThe7B) {
  ModelConfig c = cfg(json::object());
  EXPECT_EQ(c.hidden_size, 3840);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.linear_key_head_dim, 96);
  EXPECT_EQ(c.linear_value_head_dim, 192);
  EXPECT_EQ(c.conv_dim(), 11520);
  ASSERT_EQ(c.layer_types.size(), 32u);
  for (int i = 0; i < 32; ++i)
    EXPECT_EQ(c.layer_types[i], i % 4 == 3 ? LayerKind::Attention : LayerKind::GDN) << i;
  EXPECT_TRUE(c.linear_allow_neg_eigval);
}

TEST(Config, DefaultPatternGetsOneAttentionLayer) {
  ModelConfig c = cfg({{"num_hidden_layers", 2}});
  EXPECT_EQ(c.layer_types[0], LayerKind::GDN);
  EXPECT_EQ(c.layer_types[1], LayerKind::Attention);
}

TEST(Config, RopeNopeRule) {
  // spec §1.3: an explicit null theta keeps NoPE; anything else without a theta becomes 10000.
  EXPECT_FALSE(cfg({{"rope_parameters", {{"rope_theta", nullptr}}}}).rope_theta);
  EXPECT_FALSE(cfg({{"rope_theta", nullptr}}).rope_theta);
  EXPECT_FALSE(cfg({{"rope_parameters", {{"rope_theta", nullptr}, {"rope_type", "default"}}}}).rope_theta);
  EXPECT_EQ(cfg({{"rope_parameters", nullptr}}).rope_theta, 10000.0);
  EXPECT_EQ(cfg(json::object()).rope_theta, 10000.0);
  EXPECT_EQ(cfg({{"rope_parameters", {{"rope_type", "default"}}}}).rope_theta, 10000.0);
  EXPECT_EQ(cfg({{"rope_parameters", nullptr}, {"rope_theta", 5e5}}).rope_theta, 5e5);
  EXPECT_EQ(cfg({{"rope_parameters", {{"rope_theta", 5e5}}}}).rope_theta, 5e5);
}

TEST(Config, RejectsBadValues) {
  EXPECT_NE(error_of({{"layer_types", {"linear_attention", "mamba"}}, {"num_hidden_layers", 2}}).find("layer_types[1]"),
            std::string::npos);
  EXPECT_NE(error_of({{"layer_types", {"linear_attention"}}, {"num_hidden_layers", 2}}).find("layer_types"),
            std::string::npos);
  EXPECT_NE(error_of({{"hidden_size", -4}}).find("'hidden_size'"), std::string::npos);
  EXPECT_NE(error_of({{"hidden_size", "big"}}).find("'hidden_size'"), std::string::npos);
  EXPECT_NE(error_of({{"hidden_size", 100}, {"num_attention_heads", 3}}).find("not divisible"), std::string::npos);
  EXPECT_NE(error_of({{"num_attention_heads", 30}, {"num_key_value_heads", 7}}).find("num_key_value_heads"),
            std::string::npos);
  EXPECT_NE(error_of({{"linear_num_key_heads", 3}, {"linear_num_value_heads", 4}}).find("linear_num_value_heads"),
            std::string::npos);
  EXPECT_NE(error_of({{"rope_parameters", {{"rope_type", "yarn"}}}}).find("yarn"), std::string::npos);
  EXPECT_NE(error_of({{"rope_parameters", {{"rope_theta", -1}}}}).find("rope_theta"), std::string::npos);
  EXPECT_NE(error_of({{"model_type", "llama"}}).find("model_type"), std::string::npos);
  EXPECT_NE(error_of({{"hidden_act", "gelu"}}).find("hidden_act"), std::string::npos);
  EXPECT_NE(error_of({{"rms_norm_eps", 0}}).find("rms_norm_eps"), std::string::npos);
  EXPECT_NE(error_of(json::array()).find("object"), std::string::npos);
}

TEST(Config, AllAttentionAndAllGdnAllowed) {
  // HF refuses these; our baselines need them.
  ModelConfig a = cfg({{"num_hidden_layers", 2}, {"layer_types", {"full_attention", "full_attention"}}});
  EXPECT_EQ(a.count(LayerKind::GDN), 0);
  ModelConfig g = cfg({{"num_hidden_layers", 2}, {"layer_types", {"linear_attention", "linear_attention"}}});
  EXPECT_EQ(g.count(LayerKind::Attention), 0);
}

TEST(Config, ResolvedJsonRoundTrips) {
  ModelConfig c = cfg({{"hidden_size", 64}, {"num_attention_heads", 4}, {"num_hidden_layers", 4},
                       {"rope_parameters", {{"rope_theta", nullptr}}}});
  ModelConfig back = cfg(c.resolved_json());
  EXPECT_EQ(back.layer_types, c.layer_types);
  EXPECT_EQ(back.linear_key_head_dim, c.linear_key_head_dim);
  EXPECT_FALSE(back.rope_theta);
}
