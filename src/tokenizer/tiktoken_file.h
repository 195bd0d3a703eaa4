// OpenAI .tiktoken rank files: one "base64(token bytes) rank" line per token.
#pragma once
#include <string>
#include <vector>

namespace hyb {

// tokens[rank] = bytes. Fails with file:line on malformed lines, duplicate ranks or gaps.
std::vector<std::string> read_tiktoken_ranks(const std::string& path);

// Strict standard base64 (with padding). False on any invalid character or length.
bool base64_decode(const std::string& in, std::string& out);
std::string base64_encode(const std::string& in);

}  // namespace hyb
