#include "serve/prefix_cache.h"

#include <algorithm>

namespace hyb::serve {

PrefixCache::Match PrefixCache::restore(const std::vector<int32_t>& prompt, Cache& into) {
  Match m;
  if (!enabled()) return m;
  auto best = lru_.end();
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    const auto& t = it->tokens;
    const size_t n = std::min(t.size(), prompt.size());
    const size_t common = size_t(std::mismatch(t.begin(), t.begin() + long(n), prompt.begin()).first - t.begin());
    m.common = std::max(m.common, int64_t(common));
    // Usable: the whole snapshot is a prefix of the prompt, with a token left to run or the logits kept.
    const bool usable = common == t.size() && (t.size() < prompt.size() || !it->logits.empty());
    if (usable && int64_t(t.size()) > m.tokens) {
      m.tokens = int64_t(t.size());
      best = it;
    }
  }
  if (best == lru_.end()) return m;
  into.assign(best->state);
  if (m.tokens == int64_t(prompt.size())) m.logits = best->logits;
  lru_.splice(lru_.begin(), lru_, best);  // most recently used
  return m;
}

void PrefixCache::insert(std::span<const int32_t> tokens, const Cache& state, const float* logits,
                         int64_t vocab) {
  if (!enabled() || tokens.empty() || int64_t(tokens.size()) != state.n_past()) return;
  for (auto it = lru_.begin(); it != lru_.end(); ++it)
    if (std::equal(it->tokens.begin(), it->tokens.end(), tokens.begin(), tokens.end())) {
      if (logits && it->logits.empty()) {
        bytes_ += size_t(vocab) * sizeof(float);
        it->logits.assign(logits, logits + vocab);
      }
      lru_.splice(lru_.begin(), lru_, it);
      evict_to(budget_);
      return;
    }
  Entry e{std::vector<int32_t>(tokens.begin(), tokens.end()), state.snapshot(), logits ? std::vector<float>(logits, logits + vocab) : std::vector<float>{}};
  const size_t b = e.bytes();
  if (b > budget_) return;  // would not fit even alone
  evict_to(budget_ - b);
  lru_.push_front(std::move(e));
  bytes_ += b;
}

void PrefixCache::evict_to(size_t budget) {
  while (bytes_ > budget && !lru_.empty()) {
    bytes_ -= lru_.back().bytes();
    lru_.pop_back();
  }
}

}  // namespace hyb::serve
