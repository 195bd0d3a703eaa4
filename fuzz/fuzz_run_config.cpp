// RUN.json (train / sft / dpo): every field's type and range, the model preset or inline config, the identity
// that resume compares, the schedule and optimizer settings.
#include "fuzz_util.h"
#include "train/run_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyb;
  const std::string path = fuzz::Scratch::get().write("run.json", data, size);
  fuzz::expect_clean([&] {
    const RunConfig rc = RunConfig::load(path);
    rc.validate();
    (void)rc.identity().dump();
    (void)rc.posttrain_identity(true).dump();
    const LrSchedule s = rc.lr_schedule();
    for (int64_t step : {int64_t(0), rc.steps / 2, rc.steps - 1}) (void)s.lr(step);
    (void)rc.adamw();
    if (!rc.model.is_null()) {
      const ModelConfig m = resolve_model(rc.model, path, 1000, 998, 999);
      fuzz::check(int64_t(m.layer_types.size()) == m.num_hidden_layers, "layer_types size != num_hidden_layers");
    }
  });
  return 0;
}
