// Helpers of the gradient tests: run a command, parse its "loss" line, compare gradient files, find the reference.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "io/safetensors.h"

namespace hyb::gradcheck {

namespace fs = std::filesystem;

inline const std::string kShared = HYB_SHARED_DIR;
inline const std::string kPython = HYB_REF_PYTHON;
inline const std::string kHybrid = HYB_HYBRID_BIN;

inline std::string ref_tool() { return kShared + "/tools/ref_olmo_hybrid.py"; }

// Runs a shell command; returns its stdout, or fails the test.
inline std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int rc = pclose(p);
  EXPECT_EQ(rc, 0) << cmd << "\n" << out;
  return out;
}

inline double parse_loss(const std::string& out) {
  const auto pos = out.rfind("loss ");
  if (pos == std::string::npos) { ADD_FAILURE() << "no loss line in:\n" << out; return NAN; }
  return std::stod(out.substr(pos + 5));
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "hyb_grads_XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::error_code ec; fs::remove_all(path, ec); }
  std::string operator/(const std::string& s) const { return (path / s).string(); }
};

// Every tensor of `want` must be in `got` with the same shape and ||got − want|| ≤ tol · ||want||.
inline void expect_grads_close(const std::string& got_path, const std::string& want_path, double tol) {
  const SafetensorsFile got(got_path), want(want_path);
  ASSERT_EQ(got.tensors().size(), want.tensors().size());
  double worst = 0;
  std::string worst_name;
  for (auto& [name, wv] : want.tensors()) {
    const TensorView* gv = got.find(name);
    ASSERT_NE(gv, nullptr) << "missing gradient " << name;
    ASSERT_EQ(gv->shape, wv.shape) << name;
    ASSERT_EQ(wv.dtype, DType::F32);
    const float* a = reinterpret_cast<const float*>(gv->data);
    const float* b = reinterpret_cast<const float*>(wv.data);
    double num = 0, den = 0;
    for (int64_t i = 0; i < wv.numel(); ++i) {
      num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
      den += double(b[i]) * b[i];
    }
    const double rel = std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
    EXPECT_LT(rel, tol) << name;
    if (rel > worst) { worst = rel; worst_name = name; }
  }
  std::printf("    worst relative gradient error %.3e (%s)\n", worst, worst_name.c_str());
}

inline bool have_reference() {
  if (!fs::exists(ref_tool())) return false;
  return std::system((kPython + " -c 'import torch, numpy' >/dev/null 2>&1").c_str()) == 0;
}

// A small unseen shape: GQA, more GDN value heads than key heads, RoPE, untied embeddings (vocab 89, eos 1).
inline const char* const kSmallVariantConfig = R"({"model_type": "olmo_hybrid", "vocab_size": 89, "hidden_size": 32, "intermediate_size": 48,
      "num_hidden_layers": 4, "layer_types": ["linear_attention", "linear_attention", "full_attention",
      "linear_attention"], "num_attention_heads": 4, "num_key_value_heads": 2, "linear_num_key_heads": 2,
      "linear_num_value_heads": 4, "linear_key_head_dim": 8, "linear_value_head_dim": 6, "linear_conv_kernel_dim": 4,
      "linear_allow_neg_eigval": true, "rope_parameters": {"rope_theta": 10000, "rope_type": "default"},
      "rms_norm_eps": 1e-6, "tie_word_embeddings": false, "max_position_embeddings": 512, "eos_token_id": 1,
      "pad_token_id": 0})";

}  // namespace hyb::gradcheck
