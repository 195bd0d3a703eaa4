// JSONL files (datasets, benchmark items): one bounded JSON value per non-blank line, errors located as FILE:LINE.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace hyb {

// Thrown by a row reader for a malformed row; read_jsonl hands its message to `bad`.
struct JsonlRowError {
  std::string msg;
};
[[noreturn]] inline void bad_row(const std::string& msg) { throw JsonlRowError{msg}; }

// Calls row(value, line) for every non-blank line. A line that is not valid JSON, or whose row() throws
// JsonlRowError or a nlohmann exception, goes to bad(line, message): the default fail()s with
// "FILE:LINE: message"; a `bad` that returns skips the row (e.g. counting it).
void read_jsonl(const std::string& path, const std::function<void(const nlohmann::json&, int64_t)>& row,
                const std::function<void(int64_t, const std::string&)>& bad = {});

}  // namespace hyb
