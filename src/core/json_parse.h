// The one way input JSON is parsed: size and nesting are bounded before a tree is built, and every failure is a
// hyb::Error naming the source. nlohmann's parser is iterative, but a tree nested 10^6 deep still costs ~100 MB and
// recursion elsewhere (dump, comparisons), and no file or request we read needs more than a few levels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hyb {

constexpr int kMaxJsonDepth = 64;

// Deepest [ / { nesting of a JSON text (brackets inside strings ignored); stops counting once past `limit`.
int json_depth(std::string_view text, int limit = kMaxJsonDepth);

// Parses `text`, or returns nullopt with *why set ("nested deeper than 64 levels", or the parser's message).
std::optional<nlohmann::json> try_parse_json(std::string_view text, std::string* why, int max_depth = kMaxJsonDepth);

// Parses `text`; fails with "<where>: not valid JSON (...)" or "<where>: JSON nested deeper than N levels".
nlohmann::json parse_json(std::string_view text, const std::string& where, int max_depth = kMaxJsonDepth);

// Reads and parses a JSON file no larger than max_bytes (checked before reading).
nlohmann::json read_json_file(const std::string& path, size_t max_bytes = size_t(256) << 20);

}  // namespace hyb

namespace hyb {

// Typed, range-checked fields of a JSON object. A missing or null field gives the default; a field of the wrong
// type or out of range fails with "<where>: field 'key' must be <kind>, got <value>". (nlohmann's own get<T>()
// converts silently: 1e20 into an int, 2^32 + 5 into an int32 as 5.)
class JsonFields {
 public:
  // Fails unless j is an object.
  JsonFields(const nlohmann::json& j, std::string where);
  const nlohmann::json& json() const { return j_; }
  const std::string& where() const { return where_; }
  bool has(const std::string& key) const;  // present and not null
  int64_t integer(const std::string& key, int64_t def, int64_t lo = INT64_MIN, int64_t hi = INT64_MAX) const;
  double number(const std::string& key, double def, double lo = -1e300, double hi = 1e300) const;  // finite
  bool boolean(const std::string& key, bool def) const;
  std::string string(const std::string& key, const std::string& def) const;
  [[noreturn]] void bad(const std::string& key, const std::string& kind) const;

 private:
  const nlohmann::json& j_;
  std::string where_;
};

// A JSON value as a short string for error messages (long values are cut).
std::string json_excerpt(const nlohmann::json& v, size_t max_chars = 80);

// An integer JSON value in [lo, hi]; false for non-integers and out-of-range values (including unsigned > INT64_MAX).
bool json_int_in(const nlohmann::json& v, int64_t lo, int64_t hi, int64_t* out);

}  // namespace hyb
