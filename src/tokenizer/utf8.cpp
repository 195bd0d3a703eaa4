#include "tokenizer/utf8.h"

#include <cstdint>

namespace hyb {

namespace {
// Valid range of the second byte given the lead byte (Unicode Table 3-7); the other continuation bytes are 80..BF.
bool second_ok(unsigned char lead, unsigned char b) {
  switch (lead) {
    case 0xE0: return b >= 0xA0 && b <= 0xBF;
    case 0xED: return b >= 0x80 && b <= 0x9F;
    case 0xF0: return b >= 0x90 && b <= 0xBF;
    case 0xF4: return b >= 0x80 && b <= 0x8F;
    default: return b >= 0x80 && b <= 0xBF;
  }
}
size_t expected_len(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}
// How many bytes from s[i] match a well-formed sequence's prefix (and the length it needs).
size_t matched_prefix(std::string_view s, size_t i, size_t& need) {
  const auto lead = static_cast<unsigned char>(s[i]);
  need = expected_len(lead);
  if (need <= 1) return need;
  size_t k = 1;
  while (k < need && i + k < s.size()) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (k == 1 ? !second_ok(lead, b) : (b < 0x80 || b > 0xBF)) break;
    ++k;
  }
  return k;
}
}  // namespace

size_t utf8_seq_len(std::string_view s, size_t i) {
  size_t need = 0;
  const size_t k = matched_prefix(s, i, need);
  return (need > 0 && k == need) ? need : 0;
}

size_t utf8_find_invalid(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // ASCII fast path, 8 bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      __builtin_memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t len = utf8_seq_len(s, i);
    if (!len) return i;
    i += len;
  }
  return std::string_view::npos;
}

size_t utf8_invalid_len(std::string_view s, size_t i) {
  size_t need = 0;
  const size_t k = matched_prefix(s, i, need);
  return k == 0 ? 1 : k;
}

bool utf8_is_incomplete_prefix(std::string_view s, size_t i) {
  size_t need = 0;
  const size_t k = matched_prefix(s, i, need);
  return need > 1 && k < need && i + k == s.size();
}

std::string utf8_lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const size_t len = utf8_seq_len(s, i);
    if (len) {
      out.append(s.data() + i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      i += utf8_invalid_len(s, i);
    }
  }
  return out;
}

}  // namespace hyb
