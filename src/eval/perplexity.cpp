#include "eval/perplexity.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace hyb {

void perplexity_stream(Model& model, const int32_t* ids, int64_t n, const PerplexityOptions& opt,
                       const std::vector<int32_t>* token_bytes, PerplexityResult& acc) {
  const int64_t seq = opt.seq, stride = opt.stride > 0 ? opt.stride : opt.seq;
  if (seq < 1) fail("--seq: must be >= 1, got ", seq);
  if (stride > seq) fail("--stride: ", stride, " exceeds --seq ", seq, " (targets would be skipped)");
  const int64_t V = model.config().vocab_size;
  std::vector<float> logits;
  int64_t scored_end = 0;  // targets at stream positions (0, scored_end] are done
  for (int64_t s = 0; s + 1 < n; s += stride) {
    const int64_t T = std::min(seq, n - 1 - s);  // inputs s..s+T−1 predict s+1..s+T
    const int64_t first = std::max<int64_t>(scored_end + 1, s + 1);
    int64_t last = s + T;
    if (opt.max_tokens > 0) last = std::min(last, first - 1 + (opt.max_tokens - acc.tokens));
    if (last < first) break;
    logits.resize(size_t(T * V));
    Cache cache = model.new_cache();
    model.forward(ids + s, T, cache, logits.data());
    double nll = 0;
    int64_t correct = 0;
#pragma omp parallel for reduction(+ : nll, correct) schedule(static)
    for (int64_t p = first; p <= last; ++p) {
      const float* l = logits.data() + (p - 1 - s) * V;
      const int64_t arg = std::max_element(l, l + V) - l;
      const double m = double(l[arg]);
      double z = 0;
      for (int64_t j = 0; j < V; ++j) z += std::exp(double(l[j]) - m);
      nll += m + std::log(z) - double(l[ids[p]]);
      correct += arg == ids[p];
    }
    acc.nll_sum += nll;
    acc.correct += correct;
    acc.tokens += last - first + 1;
    if (token_bytes)
      for (int64_t p = first; p <= last; ++p) acc.bytes += double((*token_bytes)[size_t(ids[p])]);
    scored_end = last;
    if (opt.max_tokens > 0 && acc.tokens >= opt.max_tokens) break;
    if (s + T >= n - 1) break;  // the last target is scored
  }
}

}  // namespace hyb
