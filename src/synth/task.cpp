#include "synth/task.h"

#include "core/error.h"
#include "synth/permutation_group.h"

namespace hyb {

SynthTask parse_synth_task(const std::string& s) {
  if (s == "mqar") return SynthTask::MQAR;
  if (s == "parity") return SynthTask::Parity;
  if (s == "s3") return SynthTask::S3;
  if (s == "s5") return SynthTask::S5;
  fail("--task: unknown task \"", s, "\" (mqar | parity | s3 | s5)");
}

const char* synth_task_name(SynthTask t) {
  switch (t) {
    case SynthTask::MQAR: return "mqar";
    case SynthTask::Parity: return "parity";
    case SynthTask::S3: return "s3";
    case SynthTask::S5: return "s5";
  }
  return "?";
}

void SynthSpec::validate() const {
  if (min_len < 1 || max_len < min_len) fail("--min-len/--max-len: need 1 <= min <= max, got ", min_len, "..", max_len);
  if (task != SynthTask::MQAR) return;
  if (pairs < 1) fail("--pairs: need at least 1, got ", pairs);
  if (min_pairs < 0 || min_pairs > pairs) fail("--min-pairs: need 0..pairs (", pairs, "), got ", min_pairs);
  if (keys < pairs) fail("--keys: ", keys, " keys cannot hold ", pairs, " distinct pairs");
  if (values < 2) fail("--values: need at least 2, got ", values);
  if (keys + values > 60000) fail("--keys/--values: ", keys + values, " tokens exceed the uint16 shards");
  if (queries < 0 || queries > pairs) fail("--queries: need 0..pairs (", pairs, "), got ", queries);
  if (min_len < min_mqar_len())
    fail("--min-len: ", min_len, " is too short for ", pairs, " pairs and their queries (need >= ", min_mqar_len(), ")");
}

int32_t synth_vocab_size(const SynthSpec& s) {
  switch (s.task) {
    case SynthTask::MQAR: return int32_t(4 + s.keys + s.values);  // + SEP and filler
    case SynthTask::Parity: return 2 + 2;
    case SynthTask::S3: return 2 + 6;
    case SynthTask::S5: return 2 + 120;
  }
  return 0;
}

int64_t synth_record_length(const SynthSpec& s) {
  return s.task == SynthTask::MQAR ? s.max_len : s.max_len + 1;
}

uint64_t SynthRng::next() {
  uint64_t z = (x_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

SynthExample synth_example(const SynthSpec& s, uint64_t seed, uint64_t index) {
  SynthRng mix(seed);
  SynthRng rng(mix.next() ^ (index * 0xd1342543de82ef95ull + 0x2545f4914f6cdd1dull));
  rng.next();
  return s.task == SynthTask::MQAR ? mqar_example(s, rng) : group_word_example(s, rng);
}

}  // namespace hyb
