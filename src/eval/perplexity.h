// Perplexity of a model on token streams: windows of `seq` inputs, each scoring its next-token targets that no
// earlier window scored. stride = seq gives disjoint windows (every target sees 0..seq−1 tokens of context);
// a smaller stride re-reads context so each scored target sees at least seq − stride tokens, at seq/stride× cost.
#pragma once
#include <cstdint>
#include <vector>

#include "model/model.h"

namespace hyb {

struct PerplexityOptions {
  int64_t seq = 512, stride = 0;  // stride 0 = seq
  int64_t max_tokens = 0;         // stop after this many scored targets (0 = all)
};

struct PerplexityResult {
  double nll_sum = 0;   // Σ −ln p(target), nats
  int64_t tokens = 0;   // scored targets
  int64_t correct = 0;  // targets that were the argmax
  double bytes = 0;     // Σ bytes of the scored targets, when token_bytes was given
  double mean_nll() const { return tokens ? nll_sum / double(tokens) : 0.0; }
};

// Adds the windows of one stream to `acc` (streams are independent documents or shards: no context crosses them).
// token_bytes (optional, [vocab]) gives the UTF-8 byte length each id decodes to, for bits per byte.
void perplexity_stream(Model& model, const int32_t* ids, int64_t n, const PerplexityOptions& opt,
                       const std::vector<int32_t>* token_bytes, PerplexityResult& acc);

}  // namespace hyb
