#include "infer/sampler.h"

#include <algorithm>
#include <cmath>

namespace hyb {

Sampler::Sampler(const SamplerOptions& o) : o_(o), rng_(o.seed) {}

int32_t Sampler::sample(const float* logits, int64_t n) {
  if (o_.temperature <= 0.f) return int32_t(std::max_element(logits, logits + n) - logits);
  cand_.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) cand_[i] = {logits[i] / o_.temperature, int32_t(i)};
  auto by_logit = [](auto& a, auto& b) { return a.first > b.first; };
  size_t keep = cand_.size();
  if (o_.top_k > 0 && size_t(o_.top_k) < keep) {
    keep = size_t(o_.top_k);
    std::partial_sort(cand_.begin(), cand_.begin() + keep, cand_.end(), by_logit);
  } else {
    std::sort(cand_.begin(), cand_.end(), by_logit);
  }
  const float mx = cand_[0].first;
  double z = 0;
  std::vector<double> p(keep);
  for (size_t i = 0; i < keep; ++i) z += (p[i] = std::exp(double(cand_[i].first - mx)));
  if (o_.min_p > 0.f) {  // p is sorted descending and p[0] = 1 (the maximum, unnormalised)
    size_t k = 1;
    while (k < keep && p[k] >= double(o_.min_p)) ++k;
    z = 0;
    for (size_t i = 0; i < k; ++i) z += p[i];
    keep = k;
  }
  if (o_.top_p < 1.f) {
    double acc = 0;
    size_t k = 0;
    while (k < keep) {
      acc += p[k++] / z;
      if (acc >= o_.top_p) break;
    }
    keep = k;
  }
  std::discrete_distribution<size_t> d(p.begin(), p.begin() + long(keep));
  return cand_[d(rng_)].second;
}

}  // namespace hyb
