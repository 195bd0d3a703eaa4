// config.json -> ModelConfig: every field's type and range, derived sizes, layer types; then what writers do with it.
#include "fuzz_util.h"
#include "io/model_config.h"
#include "model/weights.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyb;
  const std::string path = fuzz::Scratch::get().write("config.json", data, size);
  fuzz::expect_clean([&] {
    const ModelConfig c = ModelConfig::load(path);
    fuzz::check(int64_t(c.layer_types.size()) == c.num_hidden_layers, "layer_types size != num_hidden_layers");
    (void)c.resolved_json().dump();
    (void)c.describe();
    // The parameter list a loader or trainer derives must be computable without overflow.
    size_t n = 0;
    for (const auto& p : canonical_params(c)) n += size_t(p.numel());
    (void)n;
  });
  return 0;
}
