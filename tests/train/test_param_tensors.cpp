// ParamTensors as trainer-owned parameters: a copy of loaded weights, viewed as Weights, runs the inference model
// bit-identically; and the training forward's loss equals the cross-entropy of the inference model's logits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "model/init.h"
#include "model/model.h"
#include "train/grad_model.h"
#include "model/param_tensors.h"

namespace hyb {
namespace {

namespace fs = std::filesystem;

struct TinyCheckpoint {
  fs::path dir;
  explicit TinyCheckpoint(bool tied) {
    std::string tmpl = (fs::temp_directory_path() / "hyb_params_XXXXXX").string();
    dir = mkdtemp(tmpl.data());
    const auto j = nlohmann::json::parse(R"({"model_type": "olmo_hybrid", "vocab_size": 50, "hidden_size": 16,
        "intermediate_size": 24, "num_hidden_layers": 2, "layer_types": ["linear_attention", "full_attention"],
        "num_attention_heads": 2, "num_key_value_heads": 1, "linear_num_key_heads": 1, "linear_num_value_heads": 2,
        "linear_key_head_dim": 4, "linear_value_head_dim": 4, "rope_parameters": {"rope_theta": 10000}})");
    ModelConfig c = ModelConfig::from_json(j, "test config");
    c.tie_word_embeddings = tied;
    InitOptions opt;
    opt.seed = 5;
    init_checkpoint(c, dir.string(), opt);
  }
  ~TinyCheckpoint() { std::error_code ec; fs::remove_all(dir, ec); }
};

TEST(ParamTensors, ViewRunsTheInferenceModelIdentically) {
  for (bool tied : {false, true}) {
    TinyCheckpoint ck(tied);
    Model ref(Weights::load(ck.dir.string(), WeightDType::F32));
    ParamTensors p(ref.config());
    p.copy_from(ref.weights());
    Model viewed(p.view());
    const std::vector<int32_t> ids = {1, 7, 3, 49, 0, 12, 12, 5};
    const int64_t T = int64_t(ids.size()), V = ref.config().vocab_size;
    std::vector<float> a(size_t(T * V)), b(size_t(T * V));
    Cache ca = ref.new_cache(), cb = viewed.new_cache();
    ref.forward(ids.data(), T, ca, a.data());
    viewed.forward(ids.data(), T, cb, b.data());
    EXPECT_EQ(a, b);
    EXPECT_EQ(p.lm_head == p.embed, tied);
  }
}

TEST(GradModel, LossMatchesInferenceLogits) {
  TinyCheckpoint ck(false);
  Model model(Weights::load(ck.dir.string(), WeightDType::F32));
  const int64_t B = 2, T = 70, V = model.config().vocab_size;
  std::mt19937 rng(3);
  std::vector<int32_t> ids(size_t(B * T));
  for (auto& x : ids) x = int32_t(rng() % uint32_t(V));
  double want = 0;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<float> logits(size_t(T * V));
    Cache cache = model.new_cache();
    model.forward(ids.data() + b * T, T, cache, logits.data());
    for (int64_t t = 0; t + 1 < T; ++t) {
      const float* l = logits.data() + t * V;
      double m = l[0], z = 0;
      for (int64_t j = 1; j < V; ++j) m = std::max(m, double(l[j]));
      for (int64_t j = 0; j < V; ++j) z += std::exp(l[j] - m);
      want += m + std::log(z) - l[ids[b * T + t + 1]];
    }
  }
  want /= double(B * (T - 1));
  GradModel gm(model.weights());
  ParamTensors g(model.config());
  const LossStats s = gm.loss_and_grads(ids.data(), B, T, g);
  EXPECT_EQ(s.count, B * (T - 1));
  EXPECT_NEAR(s.loss, want, 1e-5);
}

// Scratch and activation buffers are reused across calls: a call after a larger one must equal a fresh model.
TEST(GradModel, ReuseAcrossShapesIsExact) {
  TinyCheckpoint ck(true);
  const Weights w = Weights::load(ck.dir.string(), WeightDType::F32);
  std::mt19937 rng(4);
  std::vector<int32_t> big(2 * 90), small(1 * 33);
  for (auto& x : big) x = int32_t(rng() % 50);
  for (auto& x : small) x = int32_t(rng() % 50);
  GradModel reused(w), fresh(w);
  ParamTensors g1(w.config()), g2(w.config());
  reused.loss_and_grads(big.data(), 2, 90, g1);
  const LossStats a = reused.loss_and_grads(small.data(), 1, 33, g1);
  const LossStats b = fresh.loss_and_grads(small.data(), 1, 33, g2);
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_TRUE(std::equal(g1.data(), g1.data() + g1.size(), g2.data()));
}

}  // namespace
}  // namespace hyb

namespace hyb {
namespace {

// GradModel takes one GEMM over q|k|v and gate|up when those matrices (and their gradients) lie back to back, as
// in a ParamTensors arena. The gradients must not depend on that: the view of an arena against the same weights
// copied into separately allocated matrices (always the per-matrix path).
TEST(GradModel, StackedProjectionsMatchSeparateOnes) {
  TinyCheckpoint ck(false);
  const Weights loaded = Weights::load(ck.dir.string(), WeightDType::F32);
  ParamTensors arena(loaded.config());
  arena.copy_from(loaded);
  const Weights view = arena.view();
  // Separate copies: every matrix of every layer in its own vector, so none is adjacent to the next.
  Weights split = arena.view();
  std::vector<std::vector<float>> keep;
  auto own = [&](WeightMat& m) {
    keep.emplace_back(m.f32(), m.f32() + m.rows * m.cols);
    keep.emplace_back(16, 0.f);  // a gap
    m.data = keep[keep.size() - 2].data();
  };
  keep.reserve(64 * split.layers.size());
  for (auto& L : split.layers) {
    own(L.gate), own(L.up), own(L.down);
    if (L.kind == LayerKind::GDN) own(L.gdn.q), own(L.gdn.k), own(L.gdn.v);
  }
  const int64_t B = 2, T = 33, V = loaded.config().vocab_size;
  std::mt19937 rng(9);
  std::vector<int32_t> ids(size_t(B * T));
  for (auto& x : ids) x = int32_t(rng() % uint32_t(V));
  ParamTensors g1(loaded.config()), g2(loaded.config());
  GradModel m1(view), m2(split);
  const double l1 = m1.loss_and_grads(ids.data(), B, T, g1).loss, l2 = m2.loss_and_grads(ids.data(), B, T, g2).loss;
  EXPECT_NEAR(l1, l2, 1e-6);
  double num = 0, den = 0;
  for (size_t i = 0; i < g1.size(); ++i) {
    num += double(g1.data()[i] - g2.data()[i]) * (g1.data()[i] - g2.data()[i]);
    den += double(g2.data()[i]) * g2.data()[i];
  }
  EXPECT_LT(std::sqrt(num / den), 1e-5);
}

}  // namespace
}  // namespace hyb
