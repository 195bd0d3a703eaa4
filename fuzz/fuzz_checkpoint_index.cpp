// model.safetensors.index.json: the weight map of a sharded checkpoint (file names, duplicates, missing shards).
#include <filesystem>

#include "fuzz_util.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyb;
  static const std::string dir = [] {
    const auto& s = fuzz::Scratch::get();
    std::filesystem::create_directories(s.path("ckpt"));
    s.write("ckpt/config.json", fuzz::tiny_config_json(false));
    // Two real shards the index may point at.
    for (const char* shard : {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}) {
      const float v[4] = {1, 2, 3, 4};
      SafetensorsWriter w(s.path(std::string("ckpt/") + shard), {{shard[7] == '1' ? "a" : "b", DType::F32, {2, 2}}});
      w.write(shard[7] == '1' ? "a" : "b", v, sizeof v);
      w.finish();
    }
    return s.path("ckpt");
  }();
  fuzz::Scratch::get().write("ckpt/model.safetensors.index.json", data, size);
  fuzz::expect_clean([&] {
    Checkpoint c(dir);
    fuzz::check(c.files().size() <= 2, "checkpoint opened a file that does not exist");
  });
  return 0;
}
