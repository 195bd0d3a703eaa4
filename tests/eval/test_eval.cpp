// Evaluation and loss masks against independent references: the golden set's float64 loss (HF transformers),
// and per-position log-probabilities computed here in double from the inference Model's logits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/npy.h"
#include "eval/accuracy.h"
#include "eval/perplexity.h"
#include "test_util.h"
#include "train/grad_model.h"

namespace hyb {
namespace {

struct Golden {
  std::vector<int32_t> ids;
  double loss = 0;
};

Golden golden() {
  Golden g;
  const auto rows = npy_read_ids(test::golden_dir() + "/ids_prefill.npy", 512);
  g.ids = rows[0];
  const NpyArray l = npy_read(test::golden_dir() + "/loss.npy");
  g.loss = l.as<double>()[0];  // float64 scalar
  return g;
}

// −ln softmax(logits[t])[label], in double.
double nll(const float* l, int64_t V, int32_t label) {
  double m = l[0];
  for (int64_t j = 1; j < V; ++j) m = std::max(m, double(l[j]));
  double z = 0;
  for (int64_t j = 0; j < V; ++j) z += std::exp(double(l[j]) - m);
  return m + std::log(z) - double(l[label]);
}

class Eval : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::have_golden()) GTEST_SKIP() << "golden data not found";
    g_ = golden();
  }
  Golden g_;
};

TEST_F(Eval, PerplexityOfGoldenModelIsTheReferenceLoss) {
  Model model(Weights::load(test::golden_dir(), WeightDType::F32));
  const int64_t n = int64_t(g_.ids.size());
  PerplexityResult r;
  PerplexityOptions o;
  o.seq = n - 1;
  perplexity_stream(model, g_.ids.data(), n, o, nullptr, r);
  EXPECT_EQ(r.tokens, n - 1);
  EXPECT_NEAR(r.mean_nll(), g_.loss, 1e-5);  // HF float64: the independent oracle

  // The training path on the same ids: exp(loss) is the same perplexity.
  const Weights w = Weights::load(test::golden_dir(), WeightDType::F32);
  GradModel gm(w);
  EXPECT_NEAR(gm.loss(g_.ids.data(), 1, n).loss, r.mean_nll(), 1e-5);

  // Windows shorter than the stream score every target exactly once, whatever the stride; with less context the
  // loss can differ, but disjoint windows of one token each are a unigram-per-position model: check the count.
  for (int64_t seq : {1, 7, 16, 36}) {
    for (int64_t stride : {int64_t(1), seq / 2, seq}) {
      if (stride < 1) continue;
      PerplexityResult q;
      PerplexityOptions oo;
      oo.seq = seq;
      oo.stride = stride;
      perplexity_stream(model, g_.ids.data(), n, oo, nullptr, q);
      EXPECT_EQ(q.tokens, n - 1) << seq << "/" << stride;
    }
  }
  // A window of 8 with stride 4: the target at p is scored in the window that ends at or after it and starts
  // at the largest multiple of 4 that still holds it; recompute that one target directly.
  PerplexityResult q;
  PerplexityOptions oo;
  oo.seq = 8;
  oo.stride = 4;
  oo.max_tokens = 10;  // targets 1..10
  perplexity_stream(model, g_.ids.data(), n, oo, nullptr, q);
  ASSERT_EQ(q.tokens, 10);
  double ref = 0;
  const int64_t V = model.config().vocab_size;
  std::vector<float> logits(size_t(8 * V));
  for (int64_t p = 1; p <= 10; ++p) {
    const int64_t s = p <= 8 ? 0 : 4;  // window [0,8) scores 1..8; window [4,12) scores 9..12
    Cache c = model.new_cache();
    model.forward(g_.ids.data() + s, 8, c, logits.data());
    ref += nll(logits.data() + (p - 1 - s) * V, V, g_.ids[size_t(p)]);
  }
  EXPECT_NEAR(q.nll_sum, ref, 1e-4);
  // --max-tokens caps the scored targets exactly.
  PerplexityResult capped;
  PerplexityOptions oc;
  oc.seq = 36;
  oc.max_tokens = 5;
  perplexity_stream(model, g_.ids.data(), n, oc, nullptr, capped);
  EXPECT_EQ(capped.tokens, 5);
}

TEST_F(Eval, ExplicitTargetsScoreOnlyTheirPositions) {
  const Weights w = Weights::load(test::golden_dir(), WeightDType::F32);
  Model model(Weights::load(test::golden_dir(), WeightDType::F32));
  const int64_t T = int64_t(g_.ids.size()), V = 512;
  std::vector<float> logits(size_t(T * V));
  Cache c = model.new_cache();
  model.forward(g_.ids.data(), T, c, logits.data());

  // Every third position scored, some with the next id and some with an arbitrary label.
  std::vector<int32_t> tg(size_t(T), -1);
  double ref = 0;
  int n = 0;
  for (int64_t t = 0; t < T; t += 3) {
    tg[size_t(t)] = t % 2 ? (g_.ids[size_t(t)] * 7 + 3) % V : (t + 1 < T ? g_.ids[size_t(t + 1)] : 5);
    ref += nll(logits.data() + t * V, V, tg[size_t(t)]);
    ++n;
  }
  GradModel gm(w);
  const LossStats s = gm.loss(g_.ids.data(), 1, T, tg.data());
  EXPECT_EQ(s.count, n);
  EXPECT_NEAR(s.loss, ref / n, 1e-5);

  // The gradient is linear in the scored set: n_A·g_A + n_B·g_B = n_AB·g_AB for disjoint A, B.
  std::vector<int32_t> a(size_t(T), -1), b(size_t(T), -1);
  for (int64_t t = 0; t < T; ++t) (t % 2 ? a : b)[size_t(t)] = tg[size_t(t)];
  ParamTensors ga(w.config()), gb(w.config()), gab(w.config());
  const LossStats la = gm.loss_and_grads(g_.ids.data(), 1, T, ga, 0.0, a.data());
  const LossStats lb = gm.loss_and_grads(g_.ids.data(), 1, T, gb, 0.0, b.data());
  const LossStats lab = gm.loss_and_grads(g_.ids.data(), 1, T, gab, 0.0, tg.data());
  EXPECT_EQ(la.count + lb.count, lab.count);
  EXPECT_NEAR(la.loss * double(la.count) + lb.loss * double(lb.count), lab.loss * double(lab.count), 1e-4);
  double worst = 0, scale = 0;
  const float* pa = ga.lm_head;
  const float* pb = gb.lm_head;
  const float* pab = gab.lm_head;
  for (int64_t i = 0; i < V * w.config().hidden_size; ++i) {
    const double lhs = double(la.count) * pa[i] + double(lb.count) * pb[i];
    worst = std::max(worst, std::abs(lhs - double(lab.count) * pab[i]));
    scale = std::max(scale, std::abs(double(lab.count) * pab[i]));
  }
  EXPECT_LT(worst, 1e-4 * scale + 1e-7);

  // No scored position: loss 0 and zero gradients, not a division by zero.
  std::vector<int32_t> none(size_t(T), -1);
  const LossStats l0 = gm.loss_and_grads(g_.ids.data(), 1, T, ga, 0.0, none.data());
  EXPECT_EQ(l0.count, 0);
  EXPECT_EQ(l0.loss, 0.0);
  for (int64_t i = 0; i < V * w.config().hidden_size; ++i) ASSERT_EQ(pa[i], 0.0f);
  // Labels outside the vocabulary are refused.
  tg[2] = int32_t(V);
  EXPECT_THROW(gm.loss(g_.ids.data(), 1, T, tg.data()), Error);
}

TEST_F(Eval, AccuracyCountsArgmaxAtLabelledPositionsPerBucket) {
  Model model(Weights::load(test::golden_dir(), WeightDType::F32));
  const int64_t T = int64_t(g_.ids.size()), V = 512;
  std::vector<float> logits(size_t(T * V));
  Cache c = model.new_cache();
  model.forward(g_.ids.data(), T, c, logits.data());
  // Label = the argmax at even positions (right), argmax + 1 at odd ones (wrong); nothing after position 29.
  std::vector<int32_t> lab(size_t(T), -1);
  for (int64_t t = 0; t < 30; ++t) {
    const float* l = logits.data() + t * V;
    const int32_t arg = int32_t(std::max_element(l, l + V) - l);
    lab[size_t(t)] = t % 2 ? (arg + 1) % int32_t(V) : arg;
  }
  AccuracyCounter acc(model, 10);
  acc.add(g_.ids.data(), lab.data(), T);
  const AccuracyResult& r = acc.result();
  EXPECT_EQ(r.total, 30);
  EXPECT_EQ(r.correct, 15);
  EXPECT_EQ(r.exact, 0);
  EXPECT_EQ(r.final_correct, 0);  // position 29 is odd
  ASSERT_EQ(r.buckets.size(), 3u);
  for (const auto& b : r.buckets) {
    EXPECT_EQ(b.total, 10);
    EXPECT_EQ(b.correct, 5);
  }
}

}  // namespace
}  // namespace hyb
