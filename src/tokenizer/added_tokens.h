// Added tokens (HF "added_tokens"): strings outside the BPE vocabulary with fixed ids, matched in raw text only when
// encoding with special tokens. dolma2's set is listed here once; everything else resolves ids by string.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hyb {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = true;  // HF's flag (skip-on-decode etc.); both kinds are matched when encoding with specials
};

// dolma2 (OLMo 2 / 3 / Hybrid): cl100k's 100256 ranks plus these 22 tokens at 100256..100277.
const std::vector<AddedToken>& dolma2_added_tokens();

inline constexpr int32_t kDolma2VocabSize = 100278;
inline constexpr const char* kEndOfText = "<|endoftext|>";
inline constexpr const char* kPad = "<|pad|>";
inline constexpr const char* kImStart = "<|im_start|>";
inline constexpr const char* kImEnd = "<|im_end|>";

}  // namespace hyb
