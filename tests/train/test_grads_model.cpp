// Whole-model gradients against independent references: the golden set (float64 autograd of the transformers
// code) and checkpoints built at test time by the PyTorch reference tool, whose float64 autograd is the oracle.
// Both live in the shared folder next to the repository; the tests skip when it (or torch) is absent.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "core/npy.h"
#include "io/safetensors.h"
#include "train/grad_model.h"
#include "train/grads_io.h"
#include "train/grad_check.h"

namespace hyb {
namespace {
using namespace gradcheck;

namespace fs = std::filesystem;
using namespace gradcheck;

// Loss from the library path, gradients written under the checkpoint's names.
double our_grads(const std::string& dir, const std::string& ids_path, const std::string& out) {
  const Weights w = Weights::load(dir, WeightDType::F32);
  const auto rows = npy_read_ids(ids_path, w.config().vocab_size);
  std::vector<int32_t> ids;
  for (auto& r : rows) ids.insert(ids.end(), r.begin(), r.end());
  GradModel gm(w);
  ParamTensors g(w.config());
  const LossStats s = gm.loss_and_grads(ids.data(), int64_t(rows.size()), int64_t(rows[0].size()), g);
  write_like_checkpoint(dir, g, out);
  return s.loss;
}


TEST(ModelGrads, GoldenTiny) {
  const std::string g = kShared + "/golden/olmo_hybrid_tiny";
  if (!fs::exists(g + "/grads.safetensors")) GTEST_SKIP() << "golden data not found at " << g;
  TempDir tmp;
  const double loss = our_grads(g, g + "/ids_prefill.npy", tmp / "g.safetensors");
  const NpyArray want = npy_read(g + "/loss.npy");
  const double want_loss = *want.as<double>();
  std::printf("    loss %.9f, reference %.9f, diff %.3e\n", loss, want_loss, std::fabs(loss - want_loss));
  EXPECT_NEAR(loss, want_loss, 1e-5);
  expect_grads_close(tmp / "g.safetensors", g + "/grads.safetensors", 1e-3);

  // The CLI prints the same loss and writes the same file.
  const std::string out = run(kHybrid + " grads --model " + g + " --ids " + g + "/ids_prefill.npy --out " +
                              (tmp / "cli.safetensors"));
  EXPECT_NEAR(parse_loss(out), want_loss, 1e-5);
  expect_grads_close(tmp / "cli.safetensors", g + "/grads.safetensors", 1e-3);
}

struct UnseenCase {
  const char* name;
  const char* config;  // JSON
  const char* init_flags;
  int64_t B, T;
};

void PrintTo(const UnseenCase& c, std::ostream* os) { *os << c.name; }

class UnseenCheckpoint : public ::testing::TestWithParam<UnseenCase> {};

TEST_P(UnseenCheckpoint, MatchesReferenceAutograd) {
  if (!have_reference()) GTEST_SKIP() << "reference tool or python3-torch not available";
  const UnseenCase& c = GetParam();
  TempDir tmp;
  { std::ofstream(tmp / "config.json") << c.config; }
  run(kPython + " " + ref_tool() + " init --config " + (tmp / "config.json") + " --out " + (tmp / "ckpt") +
      " --seed 7 " + c.init_flags);
  const Weights w = Weights::load(tmp / "ckpt");
  std::mt19937 rng(11);
  std::uniform_int_distribution<int32_t> tok(0, int32_t(w.config().vocab_size - 1));
  std::vector<int32_t> ids(size_t(c.B * c.T));
  for (auto& x : ids) x = tok(rng);
  npy_write_i32(tmp / "ids.npy", {c.B, c.T}, ids.data());

  const double want = parse_loss(run(kPython + " " + ref_tool() + " grads --threads 1 --model " + (tmp / "ckpt") +
                                     " --ids " + (tmp / "ids.npy") + " --out " + (tmp / "ref.safetensors")));
  const double got = our_grads(tmp / "ckpt", tmp / "ids.npy", tmp / "got.safetensors");
  std::printf("    %s: loss %.9f, reference %.9f, diff %.3e\n", c.name, got, want, std::fabs(got - want));
  EXPECT_NEAR(got, want, 1e-5);
  expect_grads_close(tmp / "got.safetensors", tmp / "ref.safetensors", 1e-3);
}

// A: GQA, more GDN value heads than key heads, RoPE, no negative eigenvalues, tied embeddings, split conv
//    weights, T = 150 (three 64-chunks, the last partial), a batch of 2.
// B: attention first, MQA, NoPE, negative eigenvalues, untied, bf16 weights, all-GDN tail, T = 70.
INSTANTIATE_TEST_SUITE_P(
    Configs, UnseenCheckpoint,
    ::testing::Values(
        UnseenCase{"gqa_rope_tied_split",
                   R"({"model_type": "olmo_hybrid", "vocab_size": 97, "hidden_size": 32, "intermediate_size": 48,
                       "num_hidden_layers": 4, "layer_types": ["linear_attention", "full_attention",
                       "linear_attention", "full_attention"], "num_attention_heads": 4, "num_key_value_heads": 2,
                       "linear_num_key_heads": 2, "linear_num_value_heads": 4, "linear_key_head_dim": 8,
                       "linear_value_head_dim": 6, "linear_conv_kernel_dim": 4, "linear_allow_neg_eigval": false,
                       "rope_parameters": {"rope_theta": 10000, "rope_type": "default"}, "rms_norm_eps": 1e-6,
                       "tie_word_embeddings": true, "max_position_embeddings": 512})",
                   "--split-conv", 2, 150},
        UnseenCase{"mqa_nope_bf16",
                   R"({"model_type": "olmo_hybrid", "vocab_size": 61, "hidden_size": 24, "intermediate_size": 40,
                       "num_hidden_layers": 3, "layer_types": ["full_attention", "linear_attention",
                       "linear_attention"], "num_attention_heads": 3, "num_key_value_heads": 1,
                       "linear_num_key_heads": 1, "linear_num_value_heads": 3, "linear_key_head_dim": 5,
                       "linear_value_head_dim": 7, "linear_conv_kernel_dim": 3, "linear_allow_neg_eigval": true,
                       "rope_parameters": {"rope_theta": null, "rope_type": "default"}, "rms_norm_eps": 1e-5,
                       "tie_word_embeddings": false, "max_position_embeddings": 512})",
                   "--weights-dtype bfloat16", 1, 70}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace hyb

namespace hyb {
namespace {

// Packed rows with document boundaries: 4 EOS-terminated documents (lengths crossing the 64-token GDN chunks)
// packed into one row must give the loss and gradients of the documents run one by one: against our own
// per-document computation (1e-5 relative) and against the float64 PyTorch reference run per document.
TEST(PackedDocuments, EqualPerDocumentComputationAndReference) {
  if (!have_reference()) GTEST_SKIP() << "reference tool or python3-torch not available";
  TempDir tmp;

  { std::ofstream(tmp / "config.json") << kSmallVariantConfig; }
  run(kPython + " " + ref_tool() + " init --config " + (tmp / "config.json") + " --out " + (tmp / "ckpt") +
      " --seed 5");
  const Weights w = Weights::load(tmp / "ckpt", WeightDType::F32);
  const int32_t eos = 1;
  std::mt19937 rng(2);
  std::uniform_int_distribution<int32_t> tok(2, int32_t(w.config().vocab_size - 1));
  std::vector<std::vector<int32_t>> docs;
  std::vector<int32_t> row;
  for (int64_t len : {70, 5, 131, 66}) {
    std::vector<int32_t> d(static_cast<size_t>(len));
    for (auto& x : d) x = tok(rng);
    d.back() = eos;
    docs.push_back(d);
    row.insert(row.end(), d.begin(), d.end());
  }
  const int64_t T = int64_t(row.size());

  GradModel packed(w);
  packed.set_document_boundaries(eos);
  ParamTensors gp(w.config());
  const LossStats sp = packed.loss_and_grads(row.data(), 1, T, gp);
  int64_t total = 0;
  for (auto& d : docs) total += int64_t(d.size()) - 1;
  EXPECT_EQ(sp.count, total);  // no label crosses a boundary

  // Our own per-document computation, weighted by target counts.
  GradModel single(w);
  ParamTensors g1(w.config()), acc(w.config());
  acc.zero();
  double loss = 0;
  for (auto& d : docs) {
    const LossStats s = single.loss_and_grads(d.data(), 1, int64_t(d.size()), g1);
    const double wgt = double(s.count) / double(total);
    loss += s.loss * wgt;
    for (size_t i = 0; i < acc.size(); ++i) acc.data()[i] += float(wgt * g1.data()[i]);
  }
  EXPECT_NEAR(sp.loss, loss, 1e-5 * loss);
  double worst = 0;
  for (size_t t = 0; t < gp.specs().size(); ++t) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < gp.numel(t); ++i) {
      const double a = gp.tensor(t)[i], b = acc.tensor(t)[i];
      num += (a - b) * (a - b);
      den += b * b;
    }
    const double rel = std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
    EXPECT_LT(rel, 1e-5) << gp.specs()[t].name;
    worst = std::max(worst, rel);
  }
  std::printf("    packed vs per-document (ours): loss diff %.3e, worst relative gradient diff %.3e\n",
              std::fabs(sp.loss - loss), worst);

  // The same against the float64 reference, run per document.
  {
    std::ofstream f(tmp / "docs.json");
    f << "[";
    for (size_t i = 0; i < docs.size(); ++i) {
      f << (i ? ",[" : "[");
      for (size_t j = 0; j < docs[i].size(); ++j) f << (j ? "," : "") << docs[i][j];
      f << "]";
    }
    f << "]";
  }
  const double want = parse_loss(run(kPython + " " + HYB_REPO_ROOT + "/tests/train/ref_packed.py " + ref_tool() + " " +
                                     (tmp / "ckpt") + " " + (tmp / "docs.json") + " " + (tmp / "ref.safetensors")));
  std::printf("    packed loss %.9f, per-document reference %.9f\n", sp.loss, want);
  EXPECT_NEAR(sp.loss, want, 1e-5 * want);
  write_like_checkpoint(tmp / "ckpt", gp, tmp / "got.safetensors");
  expect_grads_close(tmp / "got.safetensors", tmp / "ref.safetensors", 1e-4);
}

TEST(PackedDocuments, OffByDefaultKeepsWindowsWhole) {
  // Without boundaries an EOS inside a window is an ordinary token: its next token is scored.
  const std::string g = kShared + "/golden/olmo_hybrid_tiny";
  if (!fs::exists(g + "/model.safetensors")) GTEST_SKIP() << "golden data not found";
  const Weights w = Weights::load(g, WeightDType::F32);
  std::vector<int32_t> ids = {5, 6, 510, 7, 8, 9};
  GradModel gm(w);
  EXPECT_EQ(gm.loss(ids.data(), 1, 6).count, 5);
  gm.set_document_boundaries(510);
  EXPECT_EQ(gm.loss(ids.data(), 1, 6).count, 4);
}

}  // namespace
}  // namespace hyb

namespace hyb {
namespace {

// Mixed precision: the same step with bf16 products lands near the f32 one (loss and every gradient element
// relative to the gradient's scale), and is really different from it when the CPU has AVX512-BF16.
TEST(MixedPrecision, Bf16ProductsStayNearF32LossAndGradients) {
  const nlohmann::json j = {{"vocab_size", 97}, {"hidden_size", 64}, {"intermediate_size", 96}, {"num_hidden_layers", 4},
                            {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"linear_num_key_heads", 2},
       {"linear_num_value_heads", 4}, {"linear_key_head_dim", 16}, {"linear_value_head_dim", 16},
       {"initializer_range", 0.1}, {"rope_parameters", {{"rope_theta", 10000.0}}}};
  const ModelConfig cfg = ModelConfig::from_json(j, "test");
  ParamTensors params(cfg);
  std::mt19937_64 g(3);
  std::normal_distribution<float> d(0.f, 0.1f);
  for (size_t i = 0; i < params.size(); ++i) params.data()[i] = d(g);
  const int64_t B = 2, T = 96;
  std::vector<int32_t> ids(size_t(B * T));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t((i * 31 + 7) % 97);
  const Weights w32 = params.view(Precision::F32), w16 = params.view(Precision::BF16);
  GradModel g32(w32), g16(w16);
  ParamTensors d32(cfg), d16(cfg);
  const LossStats s32 = g32.loss_and_grads(ids.data(), B, T, d32), s16 = g16.loss_and_grads(ids.data(), B, T, d16);
  double norm = 0, diff = 0;
  for (size_t i = 0; i < d32.size(); ++i) {
    norm += double(d32.data()[i]) * d32.data()[i];
    diff += double(d32.data()[i] - d16.data()[i]) * (d32.data()[i] - d16.data()[i]);
  }
  const double rel = std::sqrt(diff / norm);
  std::printf("bf16 vs f32 products: loss %.6f vs %.6f, gradient relative L2 difference %.3g\n", s16.loss, s32.loss,
              rel);
  EXPECT_NEAR(s16.loss, s32.loss, 5e-3);
  EXPECT_LT(rel, 0.03);
  if (bf16_products_available()) EXPECT_GT(rel, 1e-5);
  else EXPECT_EQ(rel, 0.0);
}

}  // namespace
}  // namespace hyb
