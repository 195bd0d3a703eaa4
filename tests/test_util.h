// Small helpers shared by the tests: temp dirs, running the CLI, comparing arrays.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/npy.h"
#include "kernels/gemm.h"

namespace hyb::test {

// Sets the process-wide compute mode (kernels/gemm.h) for one scope and restores it.
struct ComputeScope {
  explicit ComputeScope(Compute m) : old(compute_mode()) { set_compute(m); }
  ~ComputeScope() { set_compute(old); }
  ComputeScope(const ComputeScope&) = delete;
  ComputeScope& operator=(const ComputeScope&) = delete;
  Compute old;
};


inline std::string shared_dir() { return HYBRID_SHARED_DIR; }
inline std::string golden_dir() { return shared_dir() + "/golden/olmo_hybrid_tiny"; }
inline std::string ref_tool() { return shared_dir() + "/tools/ref_olmo_hybrid.py"; }
inline bool have_golden() { return std::filesystem::exists(golden_dir() + "/model.safetensors"); }
inline bool have_torch() {
  static int ok = -1;
  if (ok < 0)
    ok = std::filesystem::exists(ref_tool()) &&
         std::system("/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1") == 0;
  return ok == 1;
}

// A fresh directory under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    static std::mt19937_64 rng(std::random_device{}());
    path_ = std::filesystem::temp_directory_path() / ("hybrid-test-" + std::to_string(rng()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& f) const { return (path_ / f).string(); }

 private:
  std::filesystem::path path_;
};

struct RunResult {
  int code;
  std::string out;  // stdout and stderr together
};

inline RunResult run(const std::string& cmd) {
  RunResult r{0, ""};
  // Merge stderr into the captured output unless the command redirects it itself.
  FILE* p = popen((cmd.find("2>") == std::string::npos ? cmd + " 2>&1" : cmd).c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

inline std::string hybrid_bin() { return HYBRID_BIN; }

// A failed command's contract: non-zero exit (not a signal), exactly one line, starting "error:" and naming `needle`.
inline void expect_one_line_error(const RunResult& r, const std::string& needle, const std::string& what = "") {
  EXPECT_GT(r.code, 0) << what << "\n" << r.out;
  EXPECT_LT(r.code, 128) << "killed by a signal: " << what;
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 0) << "more than one line:\n" << r.out;
  EXPECT_EQ(out.rfind("error:", 0), 0u) << r.out;
  EXPECT_NE(out.find(needle), std::string::npos) << "missing '" << needle << "' in: " << r.out;
}

inline std::vector<float> load_f32(const std::string& path, std::vector<int64_t>* shape = nullptr) {
  NpyArray a = npy_read(path);
  if (shape) *shape = a.shape;
  std::vector<float> v(size_t(a.numel()));
  convert_to_f32(a.dtype, a.bytes.data(), v.data(), v.size());
  return v;
}

inline double max_abs_diff(const float* a, const float* b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
  return m;
}
inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  return max_abs_diff(a.data(), b.data(), std::min(a.size(), b.size()));
}

}  // namespace hyb::test
