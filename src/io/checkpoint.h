// A Hugging Face checkpoint directory: config.json plus model.safetensors or sharded files listed in
// model.safetensors.index.json. Tensors from all shards are presented as one name -> view map.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/model_config.h"
#include "io/safetensors.h"

namespace hyb {

class Checkpoint {
 public:
  explicit Checkpoint(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const ModelConfig& config() const { return config_; }
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::vector<std::string>& files() const { return files_; }
  size_t data_bytes() const;

 private:
  std::string dir_;
  ModelConfig config_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::vector<std::string> files_;
  std::map<std::string, TensorView> tensors_;
};

}  // namespace hyb
