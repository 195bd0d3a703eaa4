#include "eval/accuracy.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace hyb {

void AccuracyCounter::add(const int32_t* ids, const int32_t* labels, int64_t n) {
  int64_t T = n;
  while (T > 0 && labels[T - 1] < 0) --T;  // causal: positions after the last answer cannot change it
  ++r_.examples;
  if (T == 0) {
    ++r_.exact;
    return;
  }
  const int64_t V = model_.config().vocab_size;
  for (int64_t t = 0; t < T; ++t)
    if (labels[t] >= V) fail("label ", labels[t], " at position ", t, " is outside the model's vocabulary (", V, ")");
  logits_.resize(size_t(T * V));
  Cache cache = model_.new_cache();
  model_.forward(ids, T, cache, logits_.data());
  bool all = true, last_ok = false;
  for (int64_t t = 0; t < T; ++t) {
    if (labels[t] < 0) continue;
    const float* l = logits_.data() + t * V;
    const int64_t arg = std::max_element(l, l + V) - l;
    const bool ok = arg == labels[t];
    double z = 0;
    for (int64_t j = 0; j < V; ++j) z += std::exp(double(l[j] - l[arg]));
    r_.nll_sum += double(l[arg]) + std::log(z) - double(l[labels[t]]);
    const size_t b = size_t(t / bucket_);
    while (r_.buckets.size() <= b) {
      const int64_t lo = int64_t(r_.buckets.size()) * bucket_;
      r_.buckets.push_back({lo, lo + bucket_, 0, 0});
    }
    r_.buckets[b].correct += ok;
    ++r_.buckets[b].total;
    r_.correct += ok;
    ++r_.total;
    all = all && ok;
    last_ok = ok;
  }
  r_.exact += all;
  r_.final_correct += last_ok;
}

}  // namespace hyb
