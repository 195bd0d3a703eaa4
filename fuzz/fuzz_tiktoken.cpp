// .tiktoken rank files ("base64 rank" lines), then a tokenizer built from whatever parsed.
#include "fuzz_util.h"
#include "tokenizer/tiktoken_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyb;
  const std::string path = fuzz::Scratch::get().write("ranks.tiktoken", data, size);
  fuzz::expect_clean([&] {
    const auto ranks = read_tiktoken_ranks(path);
    const Tokenizer t = Tokenizer::from_tiktoken(path);
    const std::string text = "Hello, world! 123 caf\xc3\xa9";
    const auto ids = t.encode(text);  // may fail (a rank file without all 256 bytes): an Error, not a crash
    fuzz::check(t.decode(ids) == text, "tiktoken tokenizer: decode(encode(x)) != x");
  });
  return 0;
}
