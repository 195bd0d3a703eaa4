// Splits text into pieces with a tiktoken / HF split regex, run by PCRE2 (JIT, UTF + UCP mode). Each match is a
// piece; text between matches is dropped (HF Split behavior "Removed" with invert=true, tiktoken's find_iter).
#pragma once
#include <functional>
#include <string>
#include <string_view>

namespace hyb {

// The cl100k_base / dolma2 pattern, exactly as tiktoken and tokenizer.json spell it.
extern const char* const kCl100kPattern;
// GPT-2's pattern (HF ByteLevel pre-tokenizer with use_regex=true).
extern const char* const kGpt2Pattern;

class PreTokenizer {
 public:
  // keep_gaps: text that no match covers becomes a piece of its own (HF Split behavior "Isolated"); otherwise
  // such text is an error (HF's "Removed" + invert would drop it silently, and a tokenizer that loses input is
  // broken, not a tokenizer to imitate). The regexes of real byte-level tokenizers cover every byte.
  explicit PreTokenizer(std::string pattern, bool keep_gaps = false);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&& o) noexcept;
  PreTokenizer& operator=(PreTokenizer&& o) noexcept;
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Calls on_piece for every match (and gap, with keep_gaps), in order. text must be valid UTF-8 (checked by the caller once: PCRE2 is
  // told not to re-check, which would make splitting quadratic). Thread-safe.
  void split(std::string_view text, const std::function<void(std::string_view)>& on_piece) const;

  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
  bool jit_ = false;
  bool keep_gaps_ = false;
};

// Rewrites \s and \S into explicit Unicode White_Space classes: tiktoken's Rust regex uses White_Space, while
// PCRE2's \s also matches U+180E. Exposed for tests.
std::string pcre2_compatible_pattern(std::string_view pattern);

}  // namespace hyb
