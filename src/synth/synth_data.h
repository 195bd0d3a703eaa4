// Writes a synthetic task as a data directory `hybrid train` reads (train/token_shards.h): fixed-length records
// (examples padded with PAD), a labels stream scoring answer positions only, and the task spec in the manifest.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "synth/task.h"

namespace hyb {

nlohmann::json synth_spec_json(const SynthSpec& s);

struct SynthDataStats {
  int64_t record = 0, train_tokens = 0, val_tokens = 0, answers = 0;
  int32_t vocab_size = 0;
};

// Train examples use indices [0, train) of `seed`, validation examples indices of an independent stream.
SynthDataStats write_synth_data(const SynthSpec& s, const std::string& out, int64_t train, int64_t val, uint64_t seed);

}  // namespace hyb
