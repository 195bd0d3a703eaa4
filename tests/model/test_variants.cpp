// Checkpoints the engine has never seen: (1) the golden checkpoint rewritten in other on-disk forms (sharded, BF16,
// split or MLX-layout conv, alias names, OLMo-core names) must give the golden logits; (2) new shapes made and
// evaluated by the independent PyTorch reference (GQA, Hv > Hk, RoPE, no negative eigenvalues, several chunks,
// tied embeddings, all-attention, all-GDN) must match it in prefill and in decode.
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>

#include "io/safetensors.h"
#include "model/model.h"
#include "test_util.h"

using namespace hyb;
using namespace hyb::test;
namespace fs = std::filesystem;

namespace {

using Renamer = std::function<std::vector<std::pair<std::string, std::vector<uint8_t>>>(
    const TensorView&, std::vector<int64_t>& shape)>;

// Rewrites `src` into `dst`: every tensor may be renamed/split (by `edit`), cast to `dtype`, spread over `shards`.
void rewrite(const std::string& src, const std::string& dst, DType dtype, int shards,
             std::function<std::string(const std::string&)> rename,
             std::function<bool(const TensorView&, std::vector<TensorSpec>&, std::vector<std::vector<uint8_t>>&)>
                 special = nullptr) {
  fs::create_directories(dst);
  fs::copy_file(src + "/config.json", dst + "/config.json", fs::copy_options::overwrite_existing);
  SafetensorsFile in(src + "/model.safetensors");
  std::vector<TensorSpec> specs;
  std::vector<std::vector<uint8_t>> data;
  for (auto& [name, t] : in.tensors()) {
    if (special && special(t, specs, data)) continue;
    std::vector<float> f(size_t(t.numel()));
    convert_to_f32(t.dtype, t.data, f.data(), f.size());
    specs.push_back({rename(name), dtype, t.shape});
    std::vector<uint8_t> bytes(specs.back().nbytes());
    for (size_t i = 0; i < f.size(); ++i) {
      if (dtype == DType::F32) std::memcpy(bytes.data() + 4 * i, &f[i], 4);
      else {
        uint16_t h = dtype == DType::BF16 ? f32_to_bf16(f[i]) : f32_to_f16(f[i]);
        std::memcpy(bytes.data() + 2 * i, &h, 2);
      }
    }
    data.push_back(std::move(bytes));
  }
  nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
  size_t total = 0;
  for (int s = 0; s < shards; ++s) {
    const std::string fn = shards == 1 ? "model.safetensors"
                                       : "model-0000" + std::to_string(s + 1) + "-of-0000" + std::to_string(shards) +
                                             ".safetensors";
    std::vector<TensorSpec> part;
    std::vector<size_t> idx;
    for (size_t i = 0; i < specs.size(); ++i)
      if (int(i % size_t(shards)) == s) { part.push_back(specs[i]); idx.push_back(i); }
    SafetensorsWriter w(dst + "/" + fn, part);
    for (size_t i : idx) {
      w.write(specs[i].name, data[i].data(), data[i].size());
      index["weight_map"][specs[i].name] = fn;
      total += data[i].size();
    }
    w.finish();
  }
  if (shards > 1) {
    index["metadata"]["total_size"] = total;
    std::ofstream(dst + "/model.safetensors.index.json") << index.dump(2);
  }
}

std::vector<float> prefill_logits(const std::string& dir, const std::vector<int32_t>& ids,
                                  WeightDType dt = WeightDType::Auto) {
  Model m(Weights::load(dir, dt));
  Cache c = m.new_cache();
  std::vector<float> out(ids.size() * size_t(m.config().vocab_size));
  m.forward(ids.data(), int64_t(ids.size()), c, out.data());
  return out;
}

class GoldenRewrite : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_golden()) GTEST_SKIP() << "golden data not found";
    ids_ = npy_read_ids(golden_dir() + "/ids_prefill.npy", 512)[0];
    want_ = load_f32(golden_dir() + "/logits_prefill.npy");
  }
  std::vector<int32_t> ids_;
  std::vector<float> want_;
  TempDir dir_;
};

// Splits a fused conv1d [C,1,K] into q/k/v_conv1d, optionally in the MLX [C,K,1] layout.
auto split_conv(bool mlx) {
  return [mlx](const TensorView& t, std::vector<TensorSpec>& specs, std::vector<std::vector<uint8_t>>& data) {
    static const std::regex re(R"(^(.*\.linear_attn\.)conv1d\.weight$)");
    std::smatch m;
    if (!std::regex_match(t.name, m, re)) return false;
    const int64_t C = t.shape[0], K = t.shape[2], kd = 16 * 4, vd = 32 * 4;  // golden: key_dim 64, value_dim 128
    EXPECT_EQ(C, 2 * kd + vd);
    int64_t row = 0;
    for (auto [p, w] : {std::pair{"q", kd}, {"k", kd}, {"v", vd}}) {
      std::vector<int64_t> shape = mlx ? std::vector<int64_t>{w, K, 1} : std::vector<int64_t>{w, 1, K};
      specs.push_back({std::string(m[1]) + p + "_conv1d.weight", DType::F32, shape});
      data.emplace_back(t.data + row * K * 4, t.data + (row + w) * K * 4);  // [C][K] memory order in both layouts
      row += w;
    }
    return true;
  };
}

}  // namespace

TEST_F(GoldenRewrite, ShardedSplitConv) {
  rewrite(golden_dir(), dir_.str(), DType::F32, 3, [](const std::string& n) { return n; }, split_conv(false));
  EXPECT_TRUE(fs::exists(dir_ / "model.safetensors.index.json"));
  EXPECT_LT(max_abs_diff(prefill_logits(dir_.str(), ids_), want_), 1e-4);
}

TEST_F(GoldenRewrite, MlxConvLayoutAndHfTestingAliases) {
  rewrite(golden_dir(), dir_.str(), DType::F32, 1,
          [](const std::string& n) {
            std::string r = std::regex_replace(n, std::regex(R"(layers\.([012])\.input_layernorm)"),
                                               "layers.$1.attention_layer_norm");
            r = std::regex_replace(r, std::regex(R"(layers\.([012])\.post_attention_layernorm)"),
                                   "layers.$1.feedforward_layer_norm");
            r = std::regex_replace(r, std::regex(R"(linear_attn\.o_proj)"), "linear_attn.out_proj");
            return std::regex_replace(r, std::regex(R"(linear_attn\.o_norm)"), "linear_attn.norm");
          },
          split_conv(true));
  EXPECT_LT(max_abs_diff(prefill_logits(dir_.str(), ids_), want_), 1e-4);
}

TEST_F(GoldenRewrite, OlmoCoreNames) {
  rewrite(golden_dir(), dir_.str(), DType::F32, 2, [](const std::string& n) {
    static const std::vector<std::pair<std::regex, std::string>> rules = {
        {std::regex(R"(^model\.embed_tokens\.weight$)"), "embeddings.weight"},
        {std::regex(R"(^model\.norm\.weight$)"), "lm_head.norm.weight"},
        {std::regex(R"(^lm_head\.weight$)"), "lm_head.w_out.weight"},
        {std::regex(R"(^model\.layers\.([012])\.input_layernorm)"), "blocks.$1.attention_norm"},
        {std::regex(R"(^model\.layers\.([012])\.post_attention_layernorm)"), "blocks.$1.feed_forward_norm"},
        {std::regex(R"(^model\.layers\.3\.post_attention_layernorm)"), "blocks.3.attention_norm"},
        {std::regex(R"(^model\.layers\.3\.post_feedforward_layernorm)"), "blocks.3.feed_forward_norm"},
        {std::regex(R"(^model\.layers\.(\d+)\.mlp\.gate_proj)"), "blocks.$1.feed_forward.w1"},
        {std::regex(R"(^model\.layers\.(\d+)\.mlp\.down_proj)"), "blocks.$1.feed_forward.w2"},
        {std::regex(R"(^model\.layers\.(\d+)\.mlp\.up_proj)"), "blocks.$1.feed_forward.w3"},
        {std::regex(R"(^model\.layers\.(\d+)\.(linear_attn|self_attn)\.([qkvabg])_proj)"), "blocks.$1.attention.w_$3"},
        {std::regex(R"(^model\.layers\.(\d+)\.(linear_attn|self_attn)\.o_proj)"), "blocks.$1.attention.w_out"},
        {std::regex(R"(^model\.layers\.(\d+)\.(linear_attn|self_attn)\.)"), "blocks.$1.attention."}};
    for (auto& [re, rep] : rules)
      if (std::regex_search(n, re)) return std::regex_replace(n, re, rep);
    return n;
  });
  EXPECT_LT(max_abs_diff(prefill_logits(dir_.str(), ids_), want_), 1e-4);
}

TEST_F(GoldenRewrite, Bf16OnDisk) {
  // BF16 file: compare against F32 compute on the same rounded weights (exact path), and keep it zero-copy.
  rewrite(golden_dir(), dir_.str(), DType::BF16, 1, [](const std::string& n) { return n; });
  Weights w = Weights::load(dir_.str());
  EXPECT_EQ(w.matrix_dtype, DType::BF16);
  auto f32 = prefill_logits(dir_.str(), ids_, WeightDType::F32);
  std::vector<float> bf, fast;
  {
    ComputeScope scope(Compute::Exact);
    bf = prefill_logits(dir_.str(), ids_);
  }
  {
    ComputeScope scope(Compute::Fast);
    fast = prefill_logits(dir_.str(), ids_);
  }
  EXPECT_LT(max_abs_diff(bf, f32), 1e-4);
  EXPECT_LT(max_abs_diff(bf, want_), 0.25);  // rounding, see Bf16WeightsStayClose
  // Fast mode also rounds activations to bf16 (AVX512-BF16 dot products where available): same step size as the
  // weight rounding, so it moves these sensitive logits by a similar amount.
  EXPECT_LT(max_abs_diff(fast, f32), 0.15);
  if (bf16_fast_active()) {
    EXPECT_GT(max_abs_diff(fast, f32), 1e-6);
  }
}

TEST_F(GoldenRewrite, F16OnDisk) {
  rewrite(golden_dir(), dir_.str(), DType::F16, 1, [](const std::string& n) { return n; });
  EXPECT_LT(max_abs_diff(prefill_logits(dir_.str(), ids_), want_), 3e-2);
}

// ---- shapes evaluated by the PyTorch reference ----

namespace {

struct Variant {
  const char* name;
  nlohmann::json config;
  int64_t T, P;
  const char* init_flags;
};

void run_variant(const Variant& v) {
  if (!have_torch()) GTEST_SKIP() << "PyTorch reference unavailable (needs /usr/bin/python3 with torch)";
  TempDir d;
  nlohmann::json base = {{"vocab_size", 131}, {"hidden_size", 48}, {"intermediate_size", 72}, {"num_hidden_layers", 4},
                         {"num_attention_heads", 4}, {"initializer_range", 0.1}, {"eos_token_id", 1},
                         {"pad_token_id", 0}};
  for (auto& [k, val] : v.config.items()) base[k] = val;
  std::ofstream(d / "config.json") << base.dump(2);
  const std::string py = "/usr/bin/python3 " + ref_tool();
  auto r = run(py + " init --config " + (d / "config.json") + " --out " + (d / "ckpt") + " --seed 3 " + v.init_flags);
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<int32_t> ids(size_t(v.T));
  for (int64_t t = 0; t < v.T; ++t) ids[t] = int32_t((t * 53 + 7) % 131);
  npy_write_i32(d / "ids.npy", {v.T}, ids.data());
  r = run(py + " logits --model " + (d / "ckpt") + " --ids " + (d / "ids.npy") + " --out " + (d / "ref.npy"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = run(py + " logits --model " + (d / "ckpt") + " --ids " + (d / "ids.npy") + " --out " + (d / "ref_dec.npy") +
          " --decode-from " + std::to_string(v.P));
  ASSERT_EQ(r.code, 0) << r.out;
  auto want = load_f32(d / "ref.npy"), want_dec = load_f32(d / "ref_dec.npy");

  Model m(Weights::load(d / "ckpt", WeightDType::F32));
  const int64_t V = m.config().vocab_size;
  Cache c = m.new_cache();
  std::vector<float> got(size_t(v.T * V));
  m.forward(ids.data(), v.T, c, got.data());
  double scale = 0;
  for (float x : want) scale = std::max(scale, double(std::fabs(x)));
  const double d_pre = max_abs_diff(got, want);
  EXPECT_LT(d_pre, 1e-4) << v.name << " prefill (max |logit| " << scale << ")";
  EXPECT_GT(scale, 0.05) << "logits too small to be a meaningful check";

  Cache c2 = m.new_cache();
  std::vector<float> tmp(static_cast<size_t>(V)), dec(size_t((v.T - v.P) * V));
  m.forward(ids.data(), v.P, c2, tmp.data(), true);
  for (int64_t t = v.P; t < v.T; ++t) m.forward(&ids[t], 1, c2, dec.data() + (t - v.P) * V, true);
  EXPECT_LT(max_abs_diff(dec, want_dec), 1e-4) << v.name << " decode";
  std::printf("[%s] prefill max|d| %.2e, decode max|d| %.2e, max|logit| %.2f\n", v.name, d_pre,
              max_abs_diff(dec, want_dec), scale);
}

}  // namespace

TEST(ReferenceVariants, GqaRopeNoNegEigvalSeveralChunks) {
  run_variant({"gqa-rope", {{"num_key_value_heads", 2}, {"rope_parameters", nullptr},  // null -> theta 10000
                            {"linear_allow_neg_eigval", false}, {"linear_key_head_dim", 8}},
               150, 130, ""});
}

TEST(ReferenceVariants, MoreValueHeadsThanKeyHeadsBf16SplitConv) {
  run_variant({"hv>hk", {{"linear_num_key_heads", 2}, {"linear_num_value_heads", 4}, {"linear_key_head_dim", 8},
                         {"linear_value_head_dim", 12}, {"rope_parameters", {{"rope_theta", nullptr}}}},
               140, 66, "--split-conv --weights-dtype bfloat16"});
}

TEST(ReferenceVariants, AllAttentionTiedRope) {
  run_variant({"all-attention", {{"layer_types", {"full_attention", "full_attention", "full_attention", "full_attention"}},
                                 {"tie_word_embeddings", true}, {"rope_parameters", {{"rope_theta", 500000.0}}}},
               90, 40, ""});
}

TEST(ReferenceVariants, AllGdnLongerConv) {
  run_variant({"all-gdn", {{"layer_types", {"linear_attention", "linear_attention", "linear_attention", "linear_attention"}},
                           {"linear_conv_kernel_dim", 3}, {"linear_key_head_dim", 12}},
               200, 129, ""});
}
