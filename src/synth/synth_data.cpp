#include "synth/synth_data.h"

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "train/token_shards.h"

namespace hyb {

namespace fs = std::filesystem;

namespace {

std::string hex64(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

void write_bytes(const fs::path& p, const std::vector<uint8_t>& bytes) {
  AtomicFile f(p.string());
  f.write(bytes.data(), bytes.size());
  f.commit();
}

// One split as a single shard (synthetic sets are small) plus its labels; returns its manifest entry.
nlohmann::json write_split(const SynthSpec& s, const fs::path& dir, const char* name, int64_t n, uint64_t seed,
                           int64_t record, int64_t& tokens, int64_t& answers) {
  std::vector<uint8_t> ids, labels;
  ids.reserve(size_t(n * record * 2));
  labels.reserve(size_t(n * record * 4));
  for (int64_t i = 0; i < n; ++i) {
    const SynthExample e = synth_example(s, seed, uint64_t(i));
    for (int64_t t = 0; t < record; ++t) {
      const bool in = t < int64_t(e.ids.size());
      const uint16_t id = uint16_t(in ? e.ids[size_t(t)] : kSynthPad);
      const int32_t lab = in ? e.labels[size_t(t)] : -1;
      answers += lab >= 0;
      uint8_t b[4];
      std::memcpy(b, &id, 2);  // little-endian hosts only, as token_shards
      ids.insert(ids.end(), b, b + 2);
      std::memcpy(b, &lab, 4);
      labels.insert(labels.end(), b, b + 4);
    }
  }
  tokens = n * record;
  nlohmann::json shards = nlohmann::json::array();
  if (n > 0) {
    const std::string file = std::string(name) + "-00000.bin", lfile = std::string(name) + "-00000.labels.bin";
    write_bytes(dir / file, ids);
    write_bytes(dir / lfile, labels);
    shards.push_back({{"file", file},
                      {"tokens", tokens},
                      {"checksum", hex64(shard_checksum(ids.data(), ids.size()))},
                      {"labels", {{"file", lfile}, {"checksum", hex64(shard_checksum(labels.data(), labels.size()))}}}});
  }
  return {{"tokens", tokens}, {"documents", n}, {"shards", shards}};
}

}  // namespace

nlohmann::json synth_spec_json(const SynthSpec& s) {
  nlohmann::json j = {{"task", synth_task_name(s.task)}, {"min_len", s.min_len}, {"max_len", s.max_len}};
  if (s.task == SynthTask::MQAR) {
    j["pairs"] = s.pairs;
    if (s.min_pairs > 0) j["min_pairs"] = s.min_pairs;
    j["queries"] = s.queries ? s.queries : s.pairs;
    j["keys"] = s.keys;
    j["values"] = s.values;
  } else {
    j["answer"] = s.running ? "running" : "final";
  }
  return j;
}

SynthDataStats write_synth_data(const SynthSpec& s, const std::string& out, int64_t train, int64_t val,
                                uint64_t seed) {
  s.validate();
  if (train < 0 || val < 0) fail("--train-examples/--val-examples: must be >= 0");
  if (train + val == 0) fail("--train-examples/--val-examples: nothing to write");
  std::error_code ec;
  fs::create_directories(out, ec);
  if (!fs::is_directory(out)) fail(out, ": cannot create output directory");
  fs::remove(fs::path(out) / "manifest.json", ec);  // written last: marks a complete directory
  SynthDataStats st;
  st.record = synth_record_length(s);
  st.vocab_size = synth_vocab_size(s);
  const uint64_t val_seed = SynthRng(seed ^ 0x76616c5f73706c74ull).next();  // an independent stream
  const nlohmann::json tr = write_split(s, out, "train", train, seed, st.record, st.train_tokens, st.answers);
  const nlohmann::json va = write_split(s, out, "val", val, val_seed, st.record, st.val_tokens, st.answers);
  const nlohmann::json m = {{"format", "hybrid-tokens-v1"},
                            {"vocab_size", st.vocab_size},
                            {"eos_token_id", kSynthPad},
                            {"pad_token_id", kSynthPad},
                            {"dtype", "uint16"},
                            {"documents", "records"},
                            {"record", st.record},
                            {"synthetic", synth_spec_json(s)},
                            {"seed", seed},
                            {"train", tr},
                            {"val", va}};
  const std::string text = m.dump(2) + "\n";
  AtomicFile f((fs::path(out) / "manifest.json").string());
  f.write(text.data(), text.size());
  f.commit();
  return st;
}

}  // namespace hyb
