// Bad input never crashes: one "error: ..." line naming the file/tensor/field, non-zero exit.
#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "model_edit.h"
#include "test_util.h"

using namespace hyb;
using namespace hyb::test;
namespace fs = std::filesystem;

namespace {

class CliErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_golden()) GTEST_SKIP() << "golden data not found";
    fs::copy(golden_dir(), dir_.str() + "/m", fs::copy_options::recursive);
    for (auto& e : fs::directory_iterator(dir_.str() + "/m"))
      fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
    model_ = dir_.str() + "/m";
    ids_ = golden_dir() + "/ids_prefill.npy";
  }

  // Runs `hybrid ARGS`, expects failure with exactly one line that starts with "error:" and contains `needle`.
  void expect_error(const std::string& args, const std::string& needle) {
    expect_one_line_error(run(hybrid_bin() + " " + args), needle, args);
  }

  std::string logits_cmd() { return "logits -m " + model_ + " --ids " + ids_ + " -o " + dir_.str() + "/out.npy"; }

  void edit_config(const std::function<void(nlohmann::json&)>& f) { test::edit_config(model_, f); }
  void edit_tensors(const test::TensorEdit& edit) { test::edit_tensors(model_, edit); }

  TempDir dir_;
  std::string model_, ids_;
};

}  // namespace

TEST_F(CliErrors, TruncatedSafetensors) {
  fs::resize_file(model_ + "/model.safetensors", fs::file_size(model_ + "/model.safetensors") - 1000);
  expect_error(logits_cmd(), "model.safetensors");
}

TEST_F(CliErrors, HeaderPointsPastFile) {
  std::fstream f(model_ + "/model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
  uint64_t n = uint64_t(1) << 40;
  f.write(reinterpret_cast<const char*>(&n), 8);
  f.close();
  expect_error(logits_cmd(), "past the end");
}

TEST_F(CliErrors, CorruptHeaderJson) {
  std::fstream f(model_ + "/model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(8);
  f.write("#!garbage", 9);
  f.close();
  expect_error(logits_cmd(), "not valid JSON");
}

TEST_F(CliErrors, ShapeMismatch) {
  edit_config([](nlohmann::json& j) { j["intermediate_size"] = 200; });
  expect_error(logits_cmd(), "expected [200, 64]");
}

TEST_F(CliErrors, DtypeMismatch) {
  edit_tensors([](std::vector<TensorSpec>& s, std::vector<std::vector<uint8_t>>&) {
    for (auto& t : s)
      if (t.name == "model.norm.weight") t.dtype = DType::I32;
  });
  expect_error(logits_cmd(), "model.norm.weight");
}

TEST_F(CliErrors, MissingTensor) {
  edit_tensors([](std::vector<TensorSpec>& s, std::vector<std::vector<uint8_t>>& d) {
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i].name == "model.layers.1.linear_attn.g_proj.weight") {
        s.erase(s.begin() + long(i));
        d.erase(d.begin() + long(i));
        break;
      }
  });
  expect_error(logits_cmd(), "missing tensor 'model.layers.1.linear_attn.g_proj.weight'");
}

TEST_F(CliErrors, UnexpectedTensor) {
  edit_tensors([](std::vector<TensorSpec>& s, std::vector<std::vector<uint8_t>>& d) {
    s.push_back({"model.layers.9.mlp.up_proj.weight", DType::F32, {2}});
    d.push_back(std::vector<uint8_t>(8, 0));
  });
  expect_error(logits_cmd(), "model.layers.9.mlp.up_proj.weight");
}

TEST_F(CliErrors, UnknownLayerType) {
  edit_config([](nlohmann::json& j) { j["layer_types"][2] = "sliding_attention"; });
  expect_error(logits_cmd(), "layer_types[2]");
}

TEST_F(CliErrors, CorruptConfig) {
  std::ofstream(model_ + "/config.json") << "{\"hidden_size\": 64,";
  expect_error(logits_cmd(), "config.json");
}

TEST_F(CliErrors, IdsOutOfVocab) {
  int32_t ids[3] = {1, 2, 512};
  npy_write_i32(dir_ / "bad_ids.npy", {3}, ids);
  expect_error("logits -m " + model_ + " --ids " + (dir_ / "bad_ids.npy") + " -o " + (dir_ / "o.npy"), "bad_ids.npy");
}

TEST_F(CliErrors, WrongIdsDtype) {
  float ids[3] = {1, 2, 3};
  npy_write_f32(dir_ / "float_ids.npy", {3}, ids);
  expect_error("logits -m " + model_ + " --ids " + (dir_ / "float_ids.npy") + " -o " + (dir_ / "o.npy"), "integer");
}

TEST_F(CliErrors, BadFlags) {
  expect_error(logits_cmd() + " --bogus 3", "--bogus");
  expect_error("logits --ids " + ids_, "--model");
  expect_error(logits_cmd() + " --decode-from 37", "--decode-from");
  expect_error(logits_cmd() + " --dtype int3", "--dtype");
  expect_error("generate -m " + model_ + " --prompt-ids 1,2,x", "--prompt-ids");
  expect_error("frobnicate", "unknown command");
  // Lower bounds say so in a few words (CLI11's own checks print DBL_MAX's 309 digits).
  const RunResult neg = run(hybrid_bin() + " generate -m " + model_ + " --prompt-ids 1 --max-tokens -3");
  expect_one_line_error(neg, "--max-tokens: Value -3 must be >= 0", "--max-tokens -3");
  EXPECT_LT(neg.out.size(), 120u) << neg.out;
  expect_error("generate -m " + model_ + " --prompt-ids 1 --temperature nan", "Value nan is not a number");
  expect_error("bench decode --config x --tokens 0", "Value 0 must be > 0");
}

TEST_F(CliErrors, MissingModelDir) { expect_error("info -m " + (dir_ / "nope"), "nope"); }

TEST_F(CliErrors, PromptTooLong) {
  expect_error("generate -m " + model_ + " --ids " + ids_ + " --max-context 10", "context limit");
}
