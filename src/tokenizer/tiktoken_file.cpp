#include "tokenizer/tiktoken_file.h"

#include <algorithm>
#include <cstdint>
#include <fstream>

#include "core/error.h"

namespace hyb {

namespace {
const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

bool base64_decode(const std::string& in, std::string& out) {
  out.clear();
  if (in.empty() || in.size() % 4 != 0) return false;
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad) return false;  // data after padding
      v[k] = b64_value(c);
      if (v[k] < 0) return false;
    }
    const uint32_t w = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out += char(w >> 16);
    if (pad < 2) out += char((w >> 8) & 0xFF);
    if (pad < 1) out += char(w & 0xFF);
  }
  return true;
}

std::string base64_encode(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    const size_t n = std::min<size_t>(3, in.size() - i);
    uint32_t w = uint32_t(static_cast<unsigned char>(in[i])) << 16;
    if (n > 1) w |= uint32_t(static_cast<unsigned char>(in[i + 1])) << 8;
    if (n > 2) w |= uint32_t(static_cast<unsigned char>(in[i + 2]));
    out += kAlphabet[(w >> 18) & 63];
    out += kAlphabet[(w >> 12) & 63];
    out += n > 1 ? kAlphabet[(w >> 6) & 63] : '=';
    out += n > 2 ? kAlphabet[w & 63] : '=';
  }
  return out;
}

std::vector<std::string> read_tiktoken_ranks(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open rank file");
  // (rank, line, bytes) as read; sorted and checked at the end. Nothing is sized by a rank read from the file (a
  // line "AA== 1000000000" must not allocate a billion entries).
  struct Entry {
    long long rank;
    size_t line;
    std::string bytes;
  };
  std::vector<Entry> entries;
  std::string line, bytes;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const size_t sp = line.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 == line.size())
      fail(path, ":", lineno, ": expected 'base64-token rank'");
    if (!base64_decode(line.substr(0, sp), bytes)) fail(path, ":", lineno, ": token is not valid base64");
    if (bytes.empty()) fail(path, ":", lineno, ": empty token");
    long long rank = -1;
    size_t used = 0;
    try {
      rank = std::stoll(line.substr(sp + 1), &used);
    } catch (...) {
      used = 0;
    }
    if (used != line.size() - sp - 1 || rank < 0 || rank >= (1 << 30)) fail(path, ":", lineno, ": rank is not a valid integer");
    entries.push_back({rank, lineno, bytes});
  }
  if (entries.empty()) fail(path, ": no tokens (empty rank file)");
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.rank < b.rank; });
  std::vector<std::string> tokens;
  tokens.reserve(entries.size());
  for (size_t r = 0; r < entries.size(); ++r) {
    if (r > 0 && entries[r].rank == entries[r - 1].rank)
      fail(path, ":", entries[r].line, ": rank ", entries[r].rank, " appears twice");
    if (entries[r].rank != (long long)r) fail(path, ": rank ", r, " is missing (ranks must be 0..N-1)");
    tokens.push_back(std::move(entries[r].bytes));
  }
  return tokens;
}

}  // namespace hyb
