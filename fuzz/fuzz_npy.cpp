// .npy files (ids in, logits out): magic, version, header dict, shape/dtype against the data.
#include "core/npy.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyb;
  const std::string path = fuzz::Scratch::get().write("x.npy", data, size);
  fuzz::expect_clean([&] {
    const NpyArray a = npy_read(path);
    if (a.dtype != DType::Q8_0 && a.dtype != DType::Q4_0)
      fuzz::check(a.bytes.size() == size_t(a.numel()) * dtype_size(a.dtype), "npy bytes != numel * dtype size");
  });
  fuzz::expect_clean([&] {
    for (const auto& row : npy_read_ids(path, 1000))
      for (int32_t id : row) fuzz::check(id >= 0 && id < 1000, "npy_read_ids returned an id outside the vocabulary");
  });
  return 0;
}
