// Quantized checkpoints end to end: the golden model quantized and run against the HF logits, the quantized
// kernels against the same model dequantized to f32, K not a multiple of the block, corrupt files, the CLI.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "kernels/quant_formats.h"
#include "model/model.h"
#include "model/quantize.h"
#include "model/quantize_checkpoint.h"
#include "model_edit.h"
#include "test_util.h"

using namespace hyb;
using namespace hyb::test;
namespace fs = std::filesystem;

namespace {

double rel_rms(const std::vector<float>& a, const float* ref, size_t n) {
  double e = 0, r = 0;
  for (size_t i = 0; i < n; ++i) {
    e += (double(a[i]) - ref[i]) * (double(a[i]) - ref[i]);
    r += double(ref[i]) * ref[i];
  }
  return std::sqrt(e / r);
}

std::vector<float> prefill(Model& m, const std::vector<int32_t>& ids, int64_t T) {
  Cache c = m.new_cache();
  std::vector<float> out(size_t(T * m.config().vocab_size));
  m.forward(ids.data(), T, c, out.data());
  return out;
}

// Prefill P tokens, then decode up to T one at a time: the logits of tokens P..T-1.
std::vector<float> decode(Model& m, const std::vector<int32_t>& ids, int64_t P, int64_t T) {
  const int64_t V = m.config().vocab_size;
  Cache c = m.new_cache();
  std::vector<float> last(static_cast<size_t>(V)), out(static_cast<size_t>((T - P) * V));
  m.forward(ids.data(), P, c, last.data(), true);
  for (int64_t t = P; t < T; ++t) m.forward(&ids[size_t(t)], 1, c, out.data() + (t - P) * V, true);
  return out;
}

const std::vector<int32_t>& golden_ids() {
  static std::vector<int32_t> ids = npy_read_ids(golden_dir() + "/ids_prefill.npy", 512)[0];
  return ids;
}

// The golden checkpoint quantized once per format for the whole test binary.
const std::string& quantized_golden(DType t) {
  static TempDir dir;
  static std::map<DType, std::string> made;
  auto it = made.find(t);
  if (it != made.end()) return it->second;
  const std::string out = dir / quant_format_name(t);
  QuantizeOptions opt;
  opt.type = t;
  quantize_checkpoint(golden_dir(), out, opt);
  return made[t] = out;
}

class QuantModel : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    if (!have_golden()) GTEST_SKIP() << "golden data not found at " << golden_dir();
  }
};

}  // namespace

// Against the HF float32 logits (relative RMS over all logits). The golden model is randomly initialised and
// amplifies weight noise ~15x by its logits (Q8_0: 0.5% weight error -> ~9% logits); Q4_0's 8.6% weight error
// decorrelates its logits entirely, so only Q8_0 is held to the HF reference; Q4_0 is checked against the
// dequantized model below.
TEST(QuantGolden, Q8LogitsNearHf) {
  if (!have_golden()) GTEST_SKIP() << "golden data not found at " << golden_dir();
  const DType t = DType::Q8_0;
  Model m(Weights::load(quantized_golden(t)));
  ASSERT_EQ(m.weights().matrix_dtype, t);
  ASSERT_EQ(m.weights().embed.dtype, t);
  const auto ids = golden_ids();
  const int64_t T = int64_t(ids.size()), V = m.config().vocab_size, P = 20;
  const auto ref = load_f32(golden_dir() + "/logits_prefill.npy");
  const auto ref_dec = load_f32(golden_dir() + "/logits_decode.npy");
  const double e_pre = rel_rms(prefill(m, ids, T), ref.data(), ref.size());
  const double e_dec = rel_rms(decode(m, ids, P, T), ref_dec.data(), ref_dec.size());
  RecordProperty("prefill_rel_rms", std::to_string(e_pre));
  RecordProperty("decode_rel_rms", std::to_string(e_dec));
  const double tol = 0.15;
  EXPECT_LT(e_pre, tol);
  EXPECT_LT(e_dec, tol);
  EXPECT_GT(e_pre, 1e-3);  // it really is quantized
  (void)V;
}

// Quantized kernels vs the same checkpoint dequantized to f32 at load: prefill (f32 activations) agrees to
// rounding; decode adds only the int8 rounding of activations (~0.5% per matvec, amplified ~15x by this random
// model's logits as weight noise is; the kernel itself is checked exactly in tests/kernels/test_quant.cpp).
TEST_P(QuantModel, KernelsMatchDequantizedModel) {
  const DType t = GetParam();
  Model q(Weights::load(quantized_golden(t)));
  Model f(Weights::load(quantized_golden(t), WeightDType::F32));
  ASSERT_EQ(f.weights().matrix_dtype, DType::F32);
  const auto& ids = golden_ids();
  const int64_t T = int64_t(ids.size());
  const auto fp = prefill(f, ids, T);
  EXPECT_LT(rel_rms(prefill(q, ids, T), fp.data(), fp.size()), 1e-5);
  const auto fd = decode(f, ids, 8, T);
  const double e = rel_rms(decode(q, ids, 8, T), fd.data(), fd.size());
  RecordProperty("decode_vs_dequantized_rel_rms", std::to_string(e));
  EXPECT_LT(e, 0.2);
  // Fast compute: prefill takes the int8 GEMM, with the int8 activation rounding that decode already has.
  ComputeScope fast(Compute::Fast);
  const double ef = rel_rms(prefill(q, ids, T), fp.data(), fp.size());
  RecordProperty("fast_prefill_vs_dequantized_rel_rms", std::to_string(ef));
  EXPECT_LT(ef, 0.2);
  EXPECT_GT(ef, 1e-6);  // it really took the int8 path
}

// quantize_weights (in memory, what `hybrid bench` uses) builds exactly what loading the quantized file builds.
TEST_P(QuantModel, InMemoryQuantizeMatchesFile) {
  const DType t = GetParam();
  Weights w = Weights::load(golden_dir(), WeightDType::F32, false);
  quantize_weights(w, t);
  EXPECT_EQ(w.matrix_dtype, t);
  Model a(std::move(w));
  Model b(Weights::load(quantized_golden(t)));
  const auto& ids = golden_ids();
  const auto pa = prefill(a, ids, int64_t(ids.size())), pb = prefill(b, ids, int64_t(ids.size()));
  EXPECT_EQ(pa, pb);
  const auto da = decode(a, ids, 4, 12), db = decode(b, ids, 4, 12);
  EXPECT_EQ(da, db);
  EXPECT_LT(a.weights().resident_bytes(), Weights::load(golden_dir()).resident_bytes() / 2);
}

INSTANTIATE_TEST_SUITE_P(Formats, QuantModel, ::testing::Values(DType::Q8_0, DType::Q4_0),
                         [](const auto& info) { return std::string(info.param == DType::Q8_0 ? "Q8_0" : "Q4_0"); });

// K = 72 and 100 are not multiples of 32: the last block of every row is zero-padded on disk and in memory.
TEST(QuantModelPadding, KNotMultipleOfBlock) {
  if (!have_golden()) GTEST_SKIP();
  TempDir dir;
  nlohmann::json cfg;
  std::ifstream(golden_dir() + "/config.json") >> cfg;
  cfg["hidden_size"] = 72;
  cfg["intermediate_size"] = 100;
  cfg["num_attention_heads"] = 4;  // head_dim 18
  cfg["num_key_value_heads"] = 4;
  std::ofstream(dir / "cfg.json") << cfg.dump();
  auto r = run(hybrid_bin() + " init -c " + (dir / "cfg.json") + " -o " + (dir / "f32") + " --seed 3");
  ASSERT_EQ(r.code, 0) << r.out;
  r = run(hybrid_bin() + " quantize -m " + (dir / "f32") + " -o " + (dir / "q8") + " --type int8");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("zero-padded"), std::string::npos) << r.out;
  SafetensorsFile sf(dir / "q8/model.safetensors");
  const TensorView* down = sf.find("model.layers.0.mlp.down_proj.weight");
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->shape, (std::vector<int64_t>{72, 128}));  // K = 100 padded to 128
  Model f(Weights::load(dir / "f32"));
  Model q(Weights::load(dir / "q8"));
  std::vector<int32_t> ids(48);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t((i * 37 + 5) % 512);
  const auto fp = prefill(f, ids, 48);
  EXPECT_LT(rel_rms(prefill(q, ids, 48), fp.data(), fp.size()), 0.05);
  const auto fd = decode(f, ids, 4, 48);
  EXPECT_LT(rel_rms(decode(q, ids, 4, 48), fd.data(), fd.size()), 0.05);
}

namespace {

// One "error: ..." line naming the problem, for `hybrid info` on a corrupted copy of the quantized golden model.
class QuantCorrupt : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_golden()) GTEST_SKIP();
    model_ = dir_ / "m";
    fs::copy(quantized_golden(DType::Q8_0), model_, fs::copy_options::recursive);
  }
  void expect_error(const std::string& needle) {
    expect_one_line_error(run(hybrid_bin() + " info -m " + model_), needle);
  }
  void edit_config(const std::function<void(nlohmann::json&)>& f) { test::edit_config(model_, f); }
  void edit_tensors(const test::TensorEdit& edit) { test::edit_tensors(model_, edit); }
  size_t index_of(const std::vector<TensorSpec>& s, const std::string& name) {
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i].name == name) return i;
    ADD_FAILURE() << "no tensor " << name;
    return 0;
  }

  TempDir dir_;
  std::string model_;
  const std::string up_ = "model.layers.1.mlp.up_proj.weight";
};

}  // namespace

TEST_F(QuantCorrupt, LoadsWhenIntact) {
  RunResult r = run(hybrid_bin() + " info -m " + model_);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("quantized    q8_0, 32 weights per block"), std::string::npos) << r.out;
}

TEST_F(QuantCorrupt, UnknownFormat) {
  edit_config([](nlohmann::json& j) { j["quantization_config"]["format"] = "q3_k"; });
  expect_error("unknown quantization format 'q3_k'");
}

TEST_F(QuantCorrupt, UnsupportedBlockSize) {
  edit_config([](nlohmann::json& j) { j["quantization_config"]["block_size"] = 64; });
  expect_error("block_size is 64");
}

TEST_F(QuantCorrupt, QuantizedTensorsWithoutConfig) {
  edit_config([](nlohmann::json& j) { j.erase("quantization_config"); });
  expect_error("no quantization_config");
}

TEST_F(QuantCorrupt, FormatDisagreesWithDtype) {
  edit_config([](nlohmann::json& j) { j["quantization_config"]["format"] = "q4_0"; });
  expect_error("q4_0 stores U8");
}

TEST_F(QuantCorrupt, WrongScaleShape) {
  edit_tensors([&](std::vector<TensorSpec>& s, std::vector<std::vector<uint8_t>>& d) {
    const size_t i = index_of(s, up_ + ".scales");
    s[i].shape = {s[i].shape[0] * 2, s[i].shape[1] / 2};
  });
  expect_error(up_ + ".scales': shape [320, 1], expected [160, 2]");
}

TEST_F(QuantCorrupt, WrongScaleDtype) {
  edit_tensors([&](std::vector<TensorSpec>& s, std::vector<std::vector<uint8_t>>& d) {
    const size_t i = index_of(s, up_ + ".scales");
    s[i].dtype = DType::BF16;
  });
  expect_error("expected F16");
}

TEST_F(QuantCorrupt, MissingScales) {
  edit_tensors([&](std::vector<TensorSpec>& s, std::vector<std::vector<uint8_t>>& d) {
    const size_t i = index_of(s, up_ + ".scales");
    s.erase(s.begin() + long(i));
    d.erase(d.begin() + long(i));
  });
  expect_error("has no '" + up_ + ".scales'");
}

TEST_F(QuantCorrupt, WrongPackedShape) {
  edit_tensors([&](std::vector<TensorSpec>& s, std::vector<std::vector<uint8_t>>& d) {
    const size_t i = index_of(s, up_);
    s[i].shape = {s[i].shape[1], s[i].shape[0]};
  });
  expect_error("expected [160, 64] for q8_0");
}

TEST_F(QuantCorrupt, QuantizedNorm) {
  edit_tensors([&](std::vector<TensorSpec>& s, std::vector<std::vector<uint8_t>>& d) {
    const size_t i = index_of(s, "model.norm.weight");
    s[i].dtype = DType::I8;
    d[i].resize(d[i].size() / 4);
  });
  expect_error("only linear weights may be quantized");
}

TEST_F(QuantCorrupt, OrphanScales) {
  edit_tensors([&](std::vector<TensorSpec>& s, std::vector<std::vector<uint8_t>>& d) {
    s.push_back({"model.norm.weight.scales", DType::F16, {1, 2}});
    d.push_back(std::vector<uint8_t>(4, 0));
  });
  expect_error("model.norm.weight.scales");
}

TEST(QuantCli, HelpErrorsInfoGenerate) {
  RunResult r = run(hybrid_bin() + " quantize --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--keep-embedding"), std::string::npos) << r.out;
  if (!have_golden()) GTEST_SKIP();
  TempDir dir;
  r = run(hybrid_bin() + " quantize -m " + golden_dir() + " -o " + (dir / "x") + " --type int3");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out.rfind("error: --type: 'int3' is not one of int8 (q8_0), q4 (q4_0)", 0), 0u) << r.out;
  r = run(hybrid_bin() + " quantize -m " + golden_dir() + " -o " + (dir / "x") + " --type q4 --keep-embedding f16");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("--keep-embedding: 'f16'"), std::string::npos) << r.out;
  r = run(hybrid_bin() + " quantize -m " + golden_dir() + " -o " + (dir / "q4") + " --type q4 --keep-embedding bf16");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("embedding    BF16"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(dir / "q4/generation_config.json"));
  r = run(hybrid_bin() + " info -m " + (dir / "q4"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("quantized    q4_0, 32 weights per block with an f16 scale; embedding BF16"), std::string::npos)
      << r.out;
  r = run(hybrid_bin() + " generate -m " + (dir / "q4") + " --prompt-ids 1,2,3 -n 4 --ignore-eos");
  EXPECT_EQ(r.code, 0) << r.out;
  r = run(hybrid_bin() + " quantize -m " + (dir / "q4") + " -o " + (dir / "again") + " --type int8");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("already quantized"), std::string::npos) << r.out;
  r = run(hybrid_bin() + " quantize -m " + (dir / "q4") + " -o " + (dir / "q4") + " --type int8");
  EXPECT_EQ(r.code, 1);
}
