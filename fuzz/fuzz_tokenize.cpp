// The tokenizer on arbitrary bytes. Valid UTF-8: decode(encode(x)) == x in both modes, batch == one by one, and
// streaming decode == utf8_lossy(decode). Invalid UTF-8: encode refuses with an Error; the lossy text round-trips.
#include "fuzz_util.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyb;
  const Tokenizer& tok = fuzz::small_tokenizer();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool valid = utf8_find_invalid(text) == std::string::npos;
  if (!valid) {
    bool refused = false;
    try {
      (void)tok.encode(text);
    } catch (const Error&) {
      refused = true;
    }
    fuzz::check(refused, "encode accepted invalid UTF-8");
    const std::string lossy = utf8_lossy(text);
    fuzz::check(utf8_find_invalid(lossy) == std::string::npos, "utf8_lossy produced invalid UTF-8");
    fuzz::check(tok.decode(tok.encode(lossy)) == lossy, "decode(encode(lossy(x))) != lossy(x)");
    return 0;
  }
  const auto ids = tok.encode(text);
  fuzz::check(tok.decode(ids) == text, "decode(encode(x)) != x");
  const auto sids = tok.encode_with_special(text);
  fuzz::check(tok.decode(sids) == text, "decode(encode_with_special(x)) != x");
  size_t half = text.size() / 2;  // a second document, cut at a character boundary
  while (half > 0 && (static_cast<unsigned char>(text[half]) & 0xC0) == 0x80) --half;
  const auto batch = tok.encode_batch({text, text.substr(0, half)});
  fuzz::check(batch.size() == 2 && batch[0] == ids, "encode_batch differs from encode");
  StreamDecoder sd(tok);
  std::string streamed;
  for (int32_t id : ids) streamed += sd.push(id);
  streamed += sd.finish();
  fuzz::check(streamed == text, "streamed decode != text");
  return 0;
}
