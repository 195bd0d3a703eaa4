// UTF-8 validation and repair. The encoder only accepts valid UTF-8 (the split regex runs in UTF mode and the
// reference tokenizers work on Unicode strings), so invalid input is either an error or repaired on request.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace hyb {

// Length of the valid UTF-8 sequence starting at s[i] (1-4), or 0 if the bytes there are not one
// (overlong forms, surrogates, code points above U+10FFFF and truncated sequences are all invalid).
size_t utf8_seq_len(std::string_view s, size_t i);

// Offset of the first byte that does not start a valid sequence, or npos when all of s is valid.
size_t utf8_find_invalid(std::string_view s);

// Replaces each maximal invalid subpart with U+FFFD (the WHATWG / Unicode "best practice" used by
// TextDecoder and Python's errors="replace"), so lossy output matches what other tools show.
std::string utf8_lossy(std::string_view s);

// Number of bytes of an invalid subpart starting at s[i]: the longest prefix of a well-formed sequence,
// at least 1. Used for replacement; exposed for the streaming decoder.
size_t utf8_invalid_len(std::string_view s, size_t i);

// True when s[i..] is a proper prefix of some well-formed sequence (more bytes could complete it).
bool utf8_is_incomplete_prefix(std::string_view s, size_t i);

}  // namespace hyb
