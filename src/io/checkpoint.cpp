#include "io/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "core/file_name.h"
#include "core/json_parse.h"
#include "core/error.h"

namespace hyb {

namespace fs = std::filesystem;
using json = nlohmann::json;

Checkpoint::Checkpoint(const std::string& dir) : dir_(dir) {
  if (!fs::is_directory(dir)) fail(dir, ": not a checkpoint directory");
  config_ = ModelConfig::load((fs::path(dir) / "config.json").string());

  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  std::map<std::string, std::string> weight_map;  // tensor -> shard file name (sharded case)
  if (fs::exists(index)) {
    const json j = read_json_file(index.string(), size_t(64) << 20);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      fail(index.string(), ": missing 'weight_map' object");
    std::set<std::string> names;
    for (auto& [t, file] : j["weight_map"].items()) {
      if (!file.is_string()) fail(index.string(), ": weight_map['", t, "'] must be a file name");
      std::string fn = file.get<std::string>();
      if (!is_plain_file_name(fn))
        fail(index.string(), ": weight_map[", json_excerpt(t), "] names ", json_excerpt(fn),
             ", which is not a plain file name in the checkpoint directory (one component, at most 255 bytes)");
      weight_map[t] = fn;
      names.insert(fn);
    }
    // Released checkpoints have a few dozen shards (the largest public ones ~200); an index naming more is
    // refused before any file is opened.
    constexpr size_t kMaxShards = 4096;
    if (names.size() > kMaxShards)
      fail(index.string(), ": weight_map names ", names.size(), " shard files (more than ", kMaxShards, ")");
    files_.assign(names.begin(), names.end());
  } else if (fs::exists(fs::path(dir) / "model.safetensors")) {
    files_.push_back("model.safetensors");
  } else {
    fail(dir, ": no model.safetensors or model.safetensors.index.json");
  }

  for (auto& fn : files_) {
    const std::string path = (fs::path(dir) / fn).string();
    std::error_code ec;
    if (!fs::exists(path, ec)) fail(path, ": shard listed in model.safetensors.index.json does not exist");
    shards_.push_back(std::make_unique<SafetensorsFile>(path));
    for (auto& [name, view] : shards_.back()->tensors()) {
      if (!weight_map.empty()) {
        auto it = weight_map.find(name);
        if (it == weight_map.end() || it->second != fn) continue;  // index decides which copy counts
      }
      if (!tensors_.emplace(name, view).second) fail(path, ": tensor '", name, "' appears in more than one shard");
    }
  }
  for (auto& [t, fn] : weight_map)
    if (!tensors_.count(t)) fail((fs::path(dir) / fn).string(), ": tensor '", t, "' listed in the index is not in this shard");
}

size_t Checkpoint::data_bytes() const {
  size_t n = 0;
  for (auto& [_, t] : tensors_) n += t.nbytes;
  return n;
}

}  // namespace hyb
