#include "tokenizer/pretokenizer.h"

#include <algorithm>

#include "tokenizer/utf8.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"

namespace hyb {

const char* const kCl100kPattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kGpt2Pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

namespace {
// Unicode White_Space (PropList.txt), the set Rust's and JavaScript's \s use.
const char* const kWhiteSpaceItems =
    "\\x{09}-\\x{0D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";

// Per-thread match state: match data and a JIT stack large enough for long whitespace runs (the lookahead in
// \s+(?!\S) backtracks over the whole run).
struct MatchState {
  pcre2_match_data* md = nullptr;
  pcre2_jit_stack* stack = nullptr;
  pcre2_match_context* mctx = nullptr;
  MatchState() {
    md = pcre2_match_data_create(1, nullptr);
    mctx = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, nullptr);
    if (!md || !mctx || !stack) fail("out of memory creating PCRE2 match state");
    pcre2_jit_stack_assign(mctx, nullptr, stack);
  }
  ~MatchState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(mctx);
    pcre2_match_data_free(md);
  }
};
MatchState& match_state() {
  thread_local MatchState s;
  return s;
}
}  // namespace

std::string pcre2_compatible_pattern(std::string_view p) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[i + 1];
      ++i;
      if (e == 's') {
        out += in_class ? std::string(kWhiteSpaceItems) : str("[", kWhiteSpaceItems, "]");
      } else if (e == 'S' && !in_class) {
        out += str("[^", kWhiteSpaceItems, "]");
      } else {
        out += '\\';
        out += e;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

PreTokenizer::PreTokenizer(std::string pattern, bool keep_gaps) : pattern_(std::move(pattern)), keep_gaps_(keep_gaps) {
  const std::string compiled = pcre2_compatible_pattern(pattern_);
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(compiled.data()), compiled.size(),
                                   PCRE2_UTF | PCRE2_UCP, &err, &off, nullptr);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    fail("split regex does not compile at offset ", off, ": ", reinterpret_cast<const char*>(msg));
  }
  jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  code_ = code;
}

PreTokenizer::~PreTokenizer() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

PreTokenizer::PreTokenizer(PreTokenizer&& o) noexcept
    : pattern_(std::move(o.pattern_)), code_(o.code_), jit_(o.jit_), keep_gaps_(o.keep_gaps_) {
  o.code_ = nullptr;
}

PreTokenizer& PreTokenizer::operator=(PreTokenizer&& o) noexcept {
  if (this != &o) {
    pcre2_code_free(static_cast<pcre2_code*>(code_));
    pattern_ = std::move(o.pattern_);
    code_ = o.code_;
    jit_ = o.jit_;
    keep_gaps_ = o.keep_gaps_;
    o.code_ = nullptr;
  }
  return *this;
}

void PreTokenizer::split(std::string_view text, const std::function<void(std::string_view)>& on_piece) const {
  auto* code = static_cast<pcre2_code*>(code_);
  MatchState& st = match_state();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  PCRE2_SIZE pos = 0, done = 0;  // text[done, pos) was skipped by empty matches; nothing before done is pending
  auto gap = [&](size_t end) {
    if (end <= done) return;
    if (keep_gaps_) {
      on_piece(text.substr(done, end - done));
      return;
    }
    fail("the tokenizer's split regex matches none of bytes ", done, "-", end - 1, " of the input (\"",
         utf8_lossy(text.substr(done, std::min<size_t>(end - done, 24))), "\"): they would be dropped");
  };
  while (pos < text.size()) {
    const int rc = jit_ ? pcre2_jit_match(code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, st.md, st.mctx)
                        : pcre2_match(code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, st.md, st.mctx);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      fail("split regex failed at byte ", pos, ": ", reinterpret_cast<const char*>(msg));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.md);
    if (ov[1] == ov[0]) {
      // Empty match: step one character forward so the scan always progresses (the character stays pending).
      pos = ov[1] + 1;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
      continue;
    }
    gap(ov[0]);
    on_piece(text.substr(ov[0], ov[1] - ov[0]));
    pos = done = ov[1];
  }
  gap(text.size());
}

}  // namespace hyb
