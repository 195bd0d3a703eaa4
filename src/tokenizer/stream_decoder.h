// Incremental decoding for generation: one token may end in the middle of a UTF-8 character (byte-level BPE
// splits characters freely), so the tail of an incomplete character is held back until later tokens complete it.
// Bytes that can never become valid are replaced by U+FFFD as soon as that is certain; a held tail still
// incomplete at the end becomes U+FFFD in finish().
#pragma once
#include <cstdint>
#include <string>

#include "tokenizer/tokenizer.h"

namespace hyb {

class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok) : tok_(tok) {}
  // Text that became printable with this token (possibly empty).
  std::string push(int32_t id);
  // Whatever is still held, as U+FFFD; resets the decoder.
  std::string finish();

 private:
  const Tokenizer& tok_;
  std::string pending_;
};

// Same rules on raw bytes: emits the valid prefix of pending (invalid parts replaced), keeps an incomplete tail.
std::string utf8_take_complete(std::string& pending);

}  // namespace hyb
