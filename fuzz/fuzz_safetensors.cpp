// safetensors files: the 8-byte length, the JSON header, every entry's dtype/shape/offsets against the data.
#include "fuzz_util.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyb;
  const std::string path = fuzz::Scratch::get().write("model.safetensors", data, size);
  fuzz::expect_clean([&] {
    SafetensorsFile f(path);
    const uint8_t* lo = f.mapping().data();
    const uint8_t* hi = lo + f.mapping().size();
    for (const auto& [name, t] : f.tensors()) {
      // The file is mapped (ASan does not watch mappings), so bounds are checked here, exactly.
      fuzz::check(t.nbytes == size_t(t.numel()) * dtype_size(t.dtype), "tensor bytes != numel * dtype size");
      fuzz::check(t.nbytes == 0 || (t.data >= lo + 8 && t.data + t.nbytes <= hi), "tensor view outside the file");
    }
  });
  return 0;
}
