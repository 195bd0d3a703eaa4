// Synthetic tasks for recall and state-tracking studies. An example is a token sequence plus, per position, the
// id the model must predict there (−1 = not scored), so training and accuracy look at answer positions only.
// Every example is a pure function of (spec, seed, index): datasets are reproducible and can be regenerated.
//
// Token layout shared by all tasks: 0 = PAD (also EOS), 1 = BOS, task tokens from 2.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hyb {

enum class SynthTask { MQAR, Parity, S3, S5 };
SynthTask parse_synth_task(const std::string& s);  // "mqar" | "parity" | "s3" | "s5"
const char* synth_task_name(SynthTask t);

struct SynthSpec {
  SynthTask task = SynthTask::Parity;
  // Parity/S3/S5: number of group elements per example, drawn uniformly from [min_len, max_len].
  // MQAR: total example length including BOS, drawn from [min_len, max_len] (filler pads the gap).
  int64_t min_len = 16, max_len = 16;
  bool running = true;     // parity/S3/S5: score the running product at every position (else the final one only)
  int64_t pairs = 8;       // MQAR: key-value pairs stored (the most, when min_pairs is set)
  int64_t min_pairs = 0;   // MQAR: if > 0, each example stores a number of pairs drawn from [min_pairs, pairs]
  int64_t queries = 0;     // MQAR: keys asked back (0 = all pairs, in random order; capped at the pairs stored)
  int64_t keys = 64, values = 64;  // MQAR: key and value vocabulary sizes
  void validate() const;  // fail()s naming the bad option
  int64_t min_mqar_len() const { return 2 + 2 * pairs + 2 * (queries ? queries : pairs); }  // BOS, SEP
};

struct SynthExample {
  std::vector<int32_t> ids, labels;  // same length: content only, no padding
};

constexpr int32_t kSynthPad = 0, kSynthBos = 1;

int32_t synth_vocab_size(const SynthSpec& s);
int64_t synth_record_length(const SynthSpec& s);  // longest example: every example is padded to it
SynthExample synth_example(const SynthSpec& s, uint64_t seed, uint64_t index);

// Deterministic 64-bit stream for the generators.
class SynthRng {
 public:
  explicit SynthRng(uint64_t seed) : x_(seed) {}
  uint64_t next();
  int64_t below(int64_t n) { return int64_t(next() % uint64_t(n)); }  // bias < n / 2^64
 private:
  uint64_t x_;
};

SynthExample mqar_example(const SynthSpec& s, SynthRng& rng);
SynthExample group_word_example(const SynthSpec& s, SynthRng& rng);

}  // namespace hyb
