// A whole checkpoint load: model.safetensors against config.json — names, aliases, shapes, dtypes, and quantized
// (q8_0) block data — into the Weights the model runs on. The first byte picks the config (plain or quantized)
// and mmap or copy; the rest is model.safetensors.
#include <filesystem>

#include "fuzz_util.h"
#include "model/weights.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyb;
  if (size < 1) return 0;
  const auto& s = fuzz::Scratch::get();
  static const bool made = [] {
    const auto& s = fuzz::Scratch::get();
    for (const char* d : {"plain", "q8"}) std::filesystem::create_directories(s.path(d));
    s.write("plain/config.json", fuzz::tiny_config_json(false));
    s.write("q8/config.json", fuzz::tiny_config_json(true));
    return true;
  }();
  (void)made;
  const std::string dir = s.path(data[0] & 1 ? "q8" : "plain");
  s.write(std::string(data[0] & 1 ? "q8" : "plain") + "/model.safetensors", data + 1, size - 1);
  fuzz::expect_clean([&] {
    const Weights w = Weights::load(dir, WeightDType::Auto, !(data[0] & 2));
    fuzz::check(w.layers.size() == 2, "layer count");
    (void)w.param_count();
    (void)w.resident_bytes();
  });
  return 0;
}
