// Corrupting a copy of a model directory for the error tests: rewrite its config.json or its tensors in place.
#pragma once
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"

namespace hyb::test {

inline void edit_config(const std::string& model_dir, const std::function<void(nlohmann::json&)>& f) {
  nlohmann::json j;
  std::ifstream(model_dir + "/config.json") >> j;
  f(j);
  std::ofstream(model_dir + "/config.json") << j.dump(2);
}

// Rewrites model.safetensors through `edit` (specs and byte blobs, in file order).
using TensorEdit = std::function<void(std::vector<TensorSpec>&, std::vector<std::vector<uint8_t>>&)>;
inline void edit_tensors(const std::string& model_dir, const TensorEdit& edit) {
  std::vector<TensorSpec> specs;
  std::vector<std::vector<uint8_t>> data;
  {
    SafetensorsFile f(model_dir + "/model.safetensors");
    for (auto& [n, t] : f.tensors()) {
      specs.push_back({n, t.dtype, t.shape});
      data.emplace_back(t.data, t.data + t.nbytes);
    }
  }
  edit(specs, data);
  SafetensorsWriter w(model_dir + "/model.safetensors", specs);
  for (size_t i = 0; i < specs.size(); ++i) w.write(specs[i].name, data[i].data(), data[i].size());
  w.finish();
}

}  // namespace hyb::test
