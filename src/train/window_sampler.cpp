#include "train/window_sampler.h"

#include <algorithm>

#include "core/error.h"

namespace hyb {

namespace {
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
}  // namespace

WindowSampler::WindowSampler(const TokenSplit& split, int64_t window, uint64_t seed, const char* what)
    : split_(split), window_(window), seed_(seed) {
  if (split.record() > 0) {
    if (window != split.record())
      fail(what, " split holds records of ", split.record(), " tokens: set seq_len to ", split.record() - 1,
           " (a window of seq_len + 1 tokens is one record), got window ", window);
    step_ = window;
  }
  int64_t total = 0;
  starts_.push_back(0);
  for (const auto& s : split.shards()) {
    total += step_ > 1 ? s.tokens / step_ : std::max<int64_t>(0, s.tokens - window + 1);
    starts_.push_back(total);
  }
  if (total == 0)
    fail(what, " split has ", split.tokens(), " tokens, fewer than one window of seq_len + 1 = ", window,
         " (prepare more text, a larger --val-fraction, or lower seq_len)");
}

void WindowSampler::batch(int64_t index, int64_t B, int32_t* out, int32_t* labels) const {
  if (labels && !split_.has_labels()) fail("data split has no labels stream");
  const int64_t total = starts_.back();
  for (int64_t b = 0; b < B; ++b) {
    const uint64_t h = mix64(seed_ ^ mix64(uint64_t(index) * 0x100000001b3ull + uint64_t(b)));
    const int64_t pos = int64_t(h % uint64_t(total));  // modulo bias is < total / 2^64: irrelevant
    const size_t s = size_t(std::upper_bound(starts_.begin(), starts_.end(), pos) - starts_.begin() - 1);
    const int64_t at = (pos - starts_[s]) * step_;
    split_.read(s, at, window_, out + b * window_);
    if (labels) split_.read_labels(s, at, window_, labels + b * window_);
  }
}

}  // namespace hyb
