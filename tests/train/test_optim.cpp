// AdamW, gradient clipping and learning-rate schedules.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "core/error.h"
#include "train/adamw.h"
#include "train/lr_schedule.h"

namespace hyb {
namespace {

ModelConfig tiny_config() {
  return ModelConfig::from_json(nlohmann::json::parse(R"({"model_type": "olmo_hybrid", "vocab_size": 11,
      "hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 2,
      "layer_types": ["linear_attention", "full_attention"], "num_attention_heads": 2, "num_key_value_heads": 2,
      "linear_num_key_heads": 1, "linear_num_value_heads": 2, "linear_key_head_dim": 4,
      "linear_value_head_dim": 4})"),
                                "test config");
}

TEST(LrSchedule, CosineWarmupThenDecayToFloor) {
  LrSchedule s{LrDecay::Cosine, 1e-3, 10, 110, 0.1, 0};
  s.validate();
  EXPECT_DOUBLE_EQ(s.lr(1), 1e-4);
  EXPECT_DOUBLE_EQ(s.lr(5), 5e-4);
  EXPECT_DOUBLE_EQ(s.lr(10), 1e-3);
  EXPECT_NEAR(s.lr(60), 1e-4 + 0.5 * 0.9e-3, 1e-15);  // halfway: midpoint of peak and floor
  EXPECT_NEAR(s.lr(110), 1e-4, 1e-15);
  EXPECT_NEAR(s.lr(500), 1e-4, 1e-15);  // past the end: stays at the floor
  for (int64_t t = 11; t <= 110; ++t) EXPECT_LE(s.lr(t), s.lr(t - 1));
}

TEST(LrSchedule, WsdHoldsThenDecaysLinearly) {
  LrSchedule s{LrDecay::WSD, 2e-3, 5, 105, 0.0, 20};
  s.validate();
  EXPECT_DOUBLE_EQ(s.lr(5), 2e-3);
  EXPECT_DOUBLE_EQ(s.lr(85), 2e-3);
  EXPECT_NEAR(s.lr(95), 1e-3, 1e-15);
  EXPECT_NEAR(s.lr(105), 0.0, 1e-15);
}

TEST(LrSchedule, LinearConstantAndValidation) {
  LrSchedule lin{LrDecay::Linear, 1.0, 0, 100, 0.0, 0};
  EXPECT_DOUBLE_EQ(lin.lr(50), 0.5);
  EXPECT_DOUBLE_EQ(lin.lr(100), 0.0);
  LrSchedule c{LrDecay::Constant, 0.3, 3, 10, 0.1, 0};
  EXPECT_DOUBLE_EQ(c.lr(9), 0.3);
  EXPECT_EQ(parse_lr_decay("wsd"), LrDecay::WSD);
  EXPECT_THROW(parse_lr_decay("step"), Error);
  EXPECT_THROW((LrSchedule{LrDecay::Cosine, 1e-3, 20, 10, 0.1, 0}.validate()), Error);
  EXPECT_THROW((LrSchedule{LrDecay::Cosine, -1, 0, 10, 0.1, 0}.validate()), Error);
}

TEST(AdamW, DecayMask) {
  const ModelConfig c = tiny_config();
  AdamW off(c, {}), on(c, AdamWConfig{0.9, 0.95, 1e-8, 0.1, true});
  const ParamTensors pt(c);
  const auto& specs = pt.specs();
  for (size_t i = 0; i < specs.size(); ++i) {
    const std::string& n = specs[i].name;
    const bool norm = n.find("norm.weight") != std::string::npos;
    const bool gate = n.find("A_log") != std::string::npos || n.find("dt_bias") != std::string::npos;
    const bool emb = n == "model.embed_tokens.weight";
    EXPECT_EQ(off.decays(i), !norm && !gate && !emb) << n;
    EXPECT_EQ(on.decays(i), !norm && !emb) << n;
  }
}

// The update of torch.optim.AdamW, written out in double.
TEST(AdamW, MatchesTorchFormula) {
  const ModelConfig c = tiny_config();
  ParamTensors p(c), g(c);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (size_t i = 0; i < p.size(); ++i) p.data()[i] = nd(rng);
  std::vector<double> P(p.data(), p.data() + p.size()), M(p.size(), 0.0), Vs(p.size(), 0.0);
  const AdamWConfig o;
  AdamW opt(c, o);
  std::vector<bool> decay;
  for (size_t t = 0; t < p.specs().size(); ++t)
    for (int64_t i = 0; i < p.numel(t); ++i) decay.push_back(opt.decays(t));
  const double lrs[3] = {1e-3, 5e-4, 2e-3};
  for (int step = 1; step <= 3; ++step) {
    for (size_t i = 0; i < g.size(); ++i) g.data()[i] = nd(rng) * 0.1f;
    opt.update(p, g, lrs[step - 1]);
    const double lr = lrs[step - 1];
    for (size_t i = 0; i < P.size(); ++i) {
      const double gi = g.data()[i];
      if (decay[i]) P[i] *= 1 - lr * o.weight_decay;
      M[i] = o.beta1 * M[i] + (1 - o.beta1) * gi;
      Vs[i] = o.beta2 * Vs[i] + (1 - o.beta2) * gi * gi;
      const double mh = M[i] / (1 - std::pow(o.beta1, step)), vh = Vs[i] / (1 - std::pow(o.beta2, step));
      P[i] -= lr * mh / (std::sqrt(vh) + o.eps);
    }
  }
  EXPECT_EQ(opt.step(), 3);
  for (size_t i = 0; i < P.size(); ++i) ASSERT_NEAR(p.data()[i], P[i], 1e-6 * (1 + std::fabs(P[i]))) << i;
}

TEST(AdamW, ClipGradNorm) {
  const ModelConfig c = tiny_config();
  ParamTensors g(c);
  for (size_t i = 0; i < g.size(); ++i) g.data()[i] = (i % 2 ? 1.f : -1.f);
  const double n0 = std::sqrt(double(g.size()));
  EXPECT_NEAR(global_grad_norm(g), n0, 1e-9);
  EXPECT_NEAR(clip_grad_norm(g, 1e9), n0, 1e-9);  // no clipping below the limit
  EXPECT_NEAR(global_grad_norm(g), n0, 1e-9);
  EXPECT_NEAR(clip_grad_norm(g, 2.0), n0, 1e-9);
  EXPECT_NEAR(global_grad_norm(g), 2.0, 1e-5);
}

// ZeRO-1: AdamW over shards of the arena gives the bits of the whole-model update, moments included.
TEST(AdamW, ShardedUpdatesEqualTheWholeUpdate) {
  const ModelConfig c = tiny_config();
  ParamTensors whole(c), sharded(c), g(c);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (size_t i = 0; i < whole.size(); ++i) whole.data()[i] = sharded.data()[i] = nd(rng);
  const size_t cut = whole.size() / 3 + 17;  // not on a tensor boundary
  AdamW all(c, {}), lo(c, {}, 0, cut), hi(c, {}, cut, whole.size());
  EXPECT_EQ(lo.hi(), cut);
  EXPECT_EQ(hi.lo(), cut);
  for (int step = 0; step < 3; ++step) {
    for (size_t i = 0; i < g.size(); ++i) g.data()[i] = nd(rng) * 0.1f;
    all.update(whole, g, 1e-3);
    lo.update(sharded, g, 1e-3);
    hi.update(sharded, g, 1e-3);
  }
  ASSERT_EQ(std::memcmp(whole.data(), sharded.data(), whole.size() * sizeof(float)), 0);
  ASSERT_EQ(std::memcmp(all.exp_avg(), lo.exp_avg(), cut * sizeof(float)), 0);
  ASSERT_EQ(std::memcmp(all.exp_avg_sq() + cut, hi.exp_avg_sq(), (whole.size() - cut) * sizeof(float)), 0);
}

}  // namespace
}  // namespace hyb
