// HF tokenizers' tokenizer.json (byte-level BPE subset) and tokenizer_config.json: read and write.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/tokenizer.h"

namespace hyb {

struct HfBpeTokenizer {
  std::vector<std::string> tokens;  // raw bytes by id (added tokens excluded), "" for unused ids
  std::vector<std::pair<int32_t, int32_t>> merges;
  bool ignore_merges = false;
  std::string pattern;  // split regex
  bool isolated = false;  // Split behavior "Isolated": text between matches is a piece too
  std::vector<AddedToken> added;
};

// Fails naming the file and JSON field for anything outside what byte-level BPE needs (normalizers, other
// models, prefix spaces...), rather than silently tokenizing differently.
HfBpeTokenizer read_hf_tokenizer_json(const std::string& path);
TokenizerConfig read_hf_tokenizer_config(const std::string& path);

// Writes dir/tokenizer.json and dir/tokenizer_config.json (atomically), in the layout of HF's own
// cl100k-style files: Split(regex, Removed, invert) + ByteLevel(use_regex=false), ByteLevel decoder.
void write_hf_tokenizer(const std::string& dir, const HfBpeTokenizer& t, const TokenizerConfig& config,
                        int64_t model_max_length);

}  // namespace hyb
