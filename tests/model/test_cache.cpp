// Cache semantics on a model made by our own init: RoPE + GQA + Hv > Hk, several GDN chunks.
#include <cstdio>
#include <fstream>
#include <memory>

#include "model/init.h"
#include "model/model.h"
#include "test_util.h"

using namespace hyb;
using namespace hyb::test;

namespace {

ModelConfig small_config(nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json j = {{"vocab_size", 97}, {"hidden_size", 48}, {"intermediate_size", 80}, {"num_hidden_layers", 4},
                      {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"linear_num_key_heads", 2},
                      {"linear_num_value_heads", 4}, {"linear_key_head_dim", 8}, {"linear_value_head_dim", 12},
                      {"initializer_range", 0.2}, {"rope_parameters", {{"rope_theta", 10000.0}}}};
  for (auto& [k, v] : extra.items()) j[k] = v;
  return ModelConfig::from_json(j, "test");
}

std::vector<int32_t> ids(int64_t T, int64_t V) {
  std::vector<int32_t> r(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) r[t] = int32_t((t * 37 + 11) % V);
  return r;
}

}  // namespace

// The same 150 tokens run twice on one model: all at once, and as a 70-token prefill followed by 80 one-token
// decode steps. Both caches are kept so that a test can compare their states too.
struct PrefillAndDecode {
  std::vector<float> prefill, decode;  // [T, V] logits of each run
  Cache full, stepped;
};

class CacheRuns : public ::testing::Test {
 protected:
  static constexpr int64_t T = 150, P = 70;
  void SetUp() override {
    InitOptions opt;
    opt.seed = 5;
    init_checkpoint(small_config(), dir_.str(), opt);
    model_ = std::make_unique<Model>(Weights::load(dir_.str()));
  }
  PrefillAndDecode run(KvDtype kv) {
    Model& m = *model_;
    m.set_kv_dtype(kv);
    const int64_t V = m.config().vocab_size;
    auto x = ids(T, V);
    PrefillAndDecode r{std::vector<float>(size_t(T * V)), std::vector<float>(size_t(T * V)), m.new_cache(),
                       m.new_cache()};
    m.forward(x.data(), T, r.full, r.prefill.data());
    m.forward(x.data(), P, r.stepped, r.decode.data());
    for (int64_t t = P; t < T; ++t) m.forward(&x[t], 1, r.stepped, r.decode.data() + t * V, true);
    return r;
  }
  TempDir dir_;
  std::unique_ptr<Model> model_;
};

TEST_F(CacheRuns, DecodeEqualsPrefillRows) {
  PrefillAndDecode r = run(KvDtype::F32);
  EXPECT_LT(max_abs_diff(r.decode, r.prefill), 1e-4);
  for (size_t l = 0; l < r.stepped.layers.size(); ++l) {
    if (r.stepped.layers[l].kind == LayerKind::GDN) {
      EXPECT_LT(max_abs_diff(r.stepped.layers[l].state, r.full.layers[l].state), 1e-5);
    }
  }
}

// A BF16 KV cache: decode equals prefill as with F32 (both read the same rounded K/V), and the logits stay close
// to the F32 cache's: K/V rounded to 8 significant bits move them by far less than their spread.
TEST_F(CacheRuns, Bf16KvDecodeEqualsPrefillAndStaysNearF32) {
  const std::vector<float> ref = run(KvDtype::F32).prefill;
  PrefillAndDecode r = run(KvDtype::BF16);
  // Looser than F32's 1e-4: prefill's GEMM and decode's dot products differ in the last bit of a key, and an
  // element near a bf16 rounding boundary then rounds one bf16 ulp (2^-8 relative) apart (measured 1.1e-4).
  EXPECT_LT(max_abs_diff(r.decode, r.prefill), 1e-3);
  const double d_f32 = max_abs_diff(r.prefill, ref);
  EXPECT_GT(d_f32, 0.0);   // the rounding is really applied
  EXPECT_LT(d_f32, 0.05);
  std::printf("bf16 KV vs f32 KV: max |d logit| %.3g; decode vs prefill %.3g\n", d_f32,
              max_abs_diff(r.decode, r.prefill));
  const ModelConfig& cfg = model_->config();
  EXPECT_EQ(r.full.bytes() - Cache::fixed_bytes(cfg),
            size_t(r.full.capacity()) * Cache::bytes_per_token(cfg, KvDtype::BF16));
}

TEST(Cache, BytesGrowOnlyForAttention) {
  ModelConfig cfg = small_config();
  // 1 attention layer (index 3): K and V of Hkv·hd floats per token.
  EXPECT_EQ(Cache::bytes_per_token(cfg), size_t(2 * 2 * 12 * 4));
  EXPECT_EQ(Cache::fixed_bytes(cfg), size_t(3 * (3 * (2 * 16 + 48) + 4 * 8 * 12) * 4));
  Cache c(cfg);
  const size_t before = c.bytes();
  c.reserve(1000);
  EXPECT_GE(c.bytes() - before, 1000 * Cache::bytes_per_token(cfg));
}

TEST(Cache, InitIsDeterministicAndSplitConvMatchesFused) {
  TempDir a, b;
  InitOptions o;
  o.seed = 9;
  init_checkpoint(small_config(), a.str(), o);
  o.split_conv = true;
  init_checkpoint(small_config(), b.str(), o);
  Model ma(Weights::load(a.str())), mb(Weights::load(b.str()));
  const int64_t V = ma.config().vocab_size;
  auto x = ids(20, V);
  std::vector<float> la(size_t(20 * V)), lb(la.size());
  Cache ca = ma.new_cache(), cb = mb.new_cache();
  ma.forward(x.data(), 20, ca, la.data());
  mb.forward(x.data(), 20, cb, lb.data());
  EXPECT_EQ(max_abs_diff(la, lb), 0.0);
}
