// The word problem of a finite group as a state-tracking task: BOS x1 … xL with xi uniform group elements; the
// answer at xt is the prefix product x1·…·xt (running), or only the full product at xL (final). Parity is the
// word problem of Z2. Answers reuse the element tokens, so the vocabulary is BOS, PAD and the elements.
#include "synth/permutation_group.h"
#include "synth/task.h"

namespace hyb {

namespace {
const GroupTable& table(SynthTask t) {
  static const GroupTable z2 = cyclic_group(2), s3 = symmetric_group(3), s5 = symmetric_group(5);
  return t == SynthTask::Parity ? z2 : t == SynthTask::S3 ? s3 : s5;
}
}  // namespace

SynthExample group_word_example(const SynthSpec& s, SynthRng& rng) {
  const GroupTable& g = table(s.task);
  const int64_t len = s.min_len + rng.below(s.max_len - s.min_len + 1);
  SynthExample e;
  e.ids.push_back(kSynthBos);
  e.labels.push_back(-1);
  int32_t acc = 0;
  for (int64_t t = 0; t < len; ++t) {
    const int32_t x = int32_t(rng.below(g.n));
    acc = g(acc, x);
    e.ids.push_back(2 + x);
    e.labels.push_back(s.running || t + 1 == len ? 2 + acc : -1);
  }
  return e;
}

}  // namespace hyb
