// GPT-2 "byte level" alphabet: HF tokenizer.json stores byte-level BPE tokens as text in which every byte is
// one printable code point (printable Latin-1 bytes map to themselves, the rest to U+0100 upwards).
#pragma once
#include <string>
#include <string_view>

namespace hyb {

// Raw bytes -> their byte-level text (UTF-8).
std::string bytes_to_byte_level(std::string_view bytes);

// Byte-level text -> raw bytes; false when a character is outside the 256-character alphabet.
bool byte_level_to_bytes(std::string_view text, std::string& out);

}  // namespace hyb
