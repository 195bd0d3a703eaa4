// Shared pieces of the libFuzzer targets. Most loaders take paths (they map or stream files), so each target writes
// its input into a private scratch directory and calls the real entry point: what is fuzzed is what users run.
//
// The contract every target checks: bad input may only end in hyb::Error (or, for the server, an ApiError with a
// 4xx status). Any other exception escapes the target and libFuzzer reports it, as it reports crashes, sanitizer
// findings, timeouts and allocations past -malloc_limit_mb.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace hyb::fuzz {

// A directory made once per process (removed at exit); write() replaces one file in it.
class Scratch {
 public:
  static Scratch& get();
  const std::string& dir() const { return dir_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string write(const std::string& name, const uint8_t* data, size_t size) const;
  std::string write(const std::string& name, std::string_view text) const {
    return write(name, reinterpret_cast<const uint8_t*>(text.data()), text.size());
  }
  void remove(const std::string& name) const;

 private:
  Scratch();
  std::string dir_;
};

// A small byte-level BPE tokenizer (cl100k split, dolma2's added tokens), trained once on a fixed English text and
// loaded back through tokenizer.json: the tokenizer the data and request targets encode with.
const Tokenizer& small_tokenizer();

// A 2-layer (GDN + attention) config.json small enough to load thousands of times a second.
std::string tiny_config_json(bool quantized);

// Runs f; hyb::Error is the expected way for bad input to end. Anything else propagates to libFuzzer.
template <class F>
void expect_clean(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

// Invariant violations abort with a message (libFuzzer saves the input).
[[noreturn]] void violated(const std::string& what);
inline void check(bool ok, const char* what) {
  if (!ok) violated(what);
}

}  // namespace hyb::fuzz
