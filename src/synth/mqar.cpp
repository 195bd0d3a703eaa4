// Multi-query associative recall (Zoology's MQAR): BOS k1 v1 … kn vn SEP [filler …] q1 a1 … qm am, where each
// query is a stored key and its answer (the scored position) is that key's value. Keys within an example are
// distinct; values are drawn independently. Filler between the store and the queries makes the distance, and so
// the sequence length, grow independently of the number of pairs.
#include <algorithm>
#include <numeric>

#include "synth/task.h"

namespace hyb {

SynthExample mqar_example(const SynthSpec& s, SynthRng& rng) {
  const int32_t sep = 2, filler = 3, key0 = 4, val0 = int32_t(4 + s.keys);
  // A range of pair counts in one dataset lets a model learn the mechanism on easy examples and be scored per count.
  const int64_t n = s.min_pairs > 0 ? s.min_pairs + rng.below(s.pairs - s.min_pairs + 1) : s.pairs;
  const int64_t m = s.queries ? std::min(s.queries, n) : n;
  const int64_t len = s.min_len + rng.below(s.max_len - s.min_len + 1);
  std::vector<int32_t> keys(static_cast<size_t>(s.keys));
  std::iota(keys.begin(), keys.end(), key0);
  for (int64_t i = 0; i < n; ++i) std::swap(keys[size_t(i)], keys[size_t(i + rng.below(s.keys - i))]);
  std::vector<int32_t> vals(static_cast<size_t>(n));
  for (auto& v : vals) v = val0 + int32_t(rng.below(s.values));

  SynthExample e;
  e.ids.push_back(kSynthBos);
  for (int64_t i = 0; i < n; ++i) {
    e.ids.push_back(keys[size_t(i)]);
    e.ids.push_back(vals[size_t(i)]);
  }
  e.ids.push_back(sep);
  while (int64_t(e.ids.size()) + 2 * m < len) e.ids.push_back(filler);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = 0; i < m; ++i) std::swap(order[size_t(i)], order[size_t(i + rng.below(n - i))]);
  e.labels.assign(e.ids.size(), -1);
  for (int64_t j = 0; j < m; ++j) {
    const int64_t p = order[size_t(j)];
    e.ids.push_back(keys[size_t(p)]);
    e.labels.push_back(vals[size_t(p)]);  // predicted at the query position: the next token is the value
    e.ids.push_back(vals[size_t(p)]);
    e.labels.push_back(-1);
  }
  return e;
}

}  // namespace hyb
