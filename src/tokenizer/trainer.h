// Byte-level BPE training (the GPT-2 / HF recipe): split text with the cl100k regex, count distinct pieces in
// parallel, then repeatedly merge the most frequent adjacent pair, updating only the pieces that contain it.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tokenizer/hf_json.h"

namespace hyb {

struct BpeTrainOptions {
  int32_t vocab_size = 8192;  // total, including the 256 bytes and the added tokens
  int64_t min_frequency = 2;  // pairs seen fewer times are never merged
  std::vector<std::string> added = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"};
  std::string pattern;        // empty = cl100k
};

struct BpeTrainStats {
  int64_t bytes = 0, pieces = 0, distinct_pieces = 0, invalid_utf8_bytes = 0;
  double count_seconds = 0, merge_seconds = 0;
};

// Ids 0..255 are the bytes, then one id per merge in order, then the added tokens.
HfBpeTokenizer train_bpe(const std::vector<std::string>& files, const BpeTrainOptions& options, BpeTrainStats* stats,
                         const std::function<void(const std::string&)>& log = {});

}  // namespace hyb
