#include "tokenizer/stream_decoder.h"

#include "tokenizer/utf8.h"

namespace hyb {

std::string utf8_take_complete(std::string& pending) {
  std::string out;
  size_t i = 0;
  while (i < pending.size()) {
    if (const size_t len = utf8_seq_len(pending, i)) {
      out.append(pending, i, len);
      i += len;
    } else if (utf8_is_incomplete_prefix(pending, i)) {
      break;  // a later token may complete it
    } else {
      out += "\xEF\xBF\xBD";
      i += utf8_invalid_len(pending, i);
    }
  }
  pending.erase(0, i);
  return out;
}

std::string StreamDecoder::push(int32_t id) {
  tok_.decode_append(id, pending_);
  return utf8_take_complete(pending_);
}

std::string StreamDecoder::finish() {
  std::string out = pending_.empty() ? "" : utf8_lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace hyb
