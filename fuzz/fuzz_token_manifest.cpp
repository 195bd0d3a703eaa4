// Prepared token data: manifest.json (format, vocabulary, dtype, shards, sizes, checksums, labels, records)
// against real shard files.
#include <filesystem>

#include "fuzz_util.h"
#include "train/token_shards.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyb;
  static const std::string dir = [] {
    const auto& s = fuzz::Scratch::get();
    std::filesystem::create_directories(s.path("data"));
    // 8 uint16 tokens (ids 0..7), and 8 int32 labels; the seed corpus's manifest lists them with their checksums.
    const uint16_t tok[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    const int32_t lab[8] = {-1, 2, 3, -1, 5, 6, 7, -1};
    s.write("data/train-00000.bin", reinterpret_cast<const uint8_t*>(tok), sizeof tok);
    s.write("data/val-00000.bin", reinterpret_cast<const uint8_t*>(tok), 8);
    s.write("data/train-00000.labels", reinterpret_cast<const uint8_t*>(lab), sizeof lab);
    return s.path("data");
  }();
  fuzz::Scratch::get().write("data/manifest.json", data, size);
  fuzz::expect_clean([&] {
    const TokenData d = TokenData::open(dir);
    for (const TokenSplit* sp : {&d.train(), &d.val()}) {
      int64_t total = 0;
      for (size_t s = 0; s < sp->shards().size(); ++s) {
        const int64_t n = sp->shards()[s].tokens;
        fuzz::check(n >= 0 && size_t(n) * size_t(sp->width()) == sp->shards()[s].file->size(), "shard size");
        std::vector<int32_t> buf(static_cast<size_t>(n));
        sp->read(s, 0, n, buf.data());
        for (int32_t id : buf) fuzz::check(id >= 0 && id < d.vocab_size(), "a token outside the vocabulary");
        if (sp->has_labels()) sp->read_labels(s, 0, n, buf.data());
        total += n;
      }
      fuzz::check(total == sp->tokens(), "split token count != sum of shards");
    }
    (void)d.fingerprint();
  });
  return 0;
}
