#include "core/json_parse.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/read_file.h"

namespace hyb {

int json_depth(std::string_view text, int limit) {
  int depth = 0, max_depth = 0;
  bool in_str = false, esc = false;
  for (char ch : text) {
    if (in_str) {
      if (esc) esc = false;
      else if (ch == '\\') esc = true;
      else if (ch == '"') in_str = false;
    } else if (ch == '"') {
      in_str = true;
    } else if (ch == '[' || ch == '{') {
      max_depth = std::max(max_depth, ++depth);
      if (max_depth > limit) break;
    } else if (ch == ']' || ch == '}') {
      --depth;
    }
  }
  return max_depth;
}

std::optional<nlohmann::json> try_parse_json(std::string_view text, std::string* why, int max_depth) {
  if (json_depth(text, max_depth) > max_depth) {
    *why = str("JSON nested deeper than ", max_depth, " levels");
    return std::nullopt;
  }
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    *why = e.what();
    return std::nullopt;
  }
}

nlohmann::json parse_json(std::string_view text, const std::string& where, int max_depth) {
  std::string why;
  auto j = try_parse_json(text, &why, max_depth);
  if (!j) fail(where, ": not valid JSON (", why, ")");
  return std::move(*j);
}

nlohmann::json read_json_file(const std::string& path, size_t max_bytes) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) fail(path, ": cannot open (", ec.message(), ")");
  if (size > max_bytes) fail(path, ": ", size, " bytes is more than the ", max_bytes, "-byte limit for a JSON file");
  return parse_json(read_file(path), path);
}

}  // namespace hyb

namespace hyb {

std::string json_excerpt(const nlohmann::json& v, size_t max_chars) {
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > max_chars) s = s.substr(0, max_chars) + "...";
  return s;
}

bool json_int_in(const nlohmann::json& v, int64_t lo, int64_t hi, int64_t* out) {
  if (!v.is_number_integer()) return false;
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) return false;
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) return false;
  *out = x;
  return true;
}

JsonFields::JsonFields(const nlohmann::json& j, std::string where) : j_(j), where_(std::move(where)) {
  if (!j.is_object()) fail(where_, ": expected a JSON object, got ", json_excerpt(j));
}

bool JsonFields::has(const std::string& key) const { return j_.contains(key) && !j_.at(key).is_null(); }

void JsonFields::bad(const std::string& key, const std::string& kind) const {
  fail(where_, ": field '", key, "' must be ", kind, ", got ", j_.contains(key) ? json_excerpt(j_.at(key)) : "nothing");
}

int64_t JsonFields::integer(const std::string& key, int64_t def, int64_t lo, int64_t hi) const {
  if (!has(key)) return def;
  int64_t v = 0;
  if (!json_int_in(j_.at(key), lo, hi, &v)) {
    if (lo == INT64_MIN && hi == INT64_MAX) bad(key, "an integer");
    if (hi == INT64_MAX) bad(key, str("an integer >= ", lo));
    bad(key, str("an integer in [", lo, ", ", hi, "]"));
  }
  return v;
}

double JsonFields::number(const std::string& key, double def, double lo, double hi) const {
  if (!has(key)) return def;
  const nlohmann::json& v = j_.at(key);
  const double x = v.is_number() ? v.get<double>() : std::nan("");
  if (!(std::isfinite(x) && x >= lo && x <= hi)) {
    if (lo <= -1e300 && hi >= 1e300) bad(key, "a finite number");
    bad(key, str("a number in [", lo, ", ", hi, "]"));
  }
  return x;
}

bool JsonFields::boolean(const std::string& key, bool def) const {
  if (!has(key)) return def;
  if (!j_.at(key).is_boolean()) bad(key, "true or false");
  return j_.at(key).get<bool>();
}

std::string JsonFields::string(const std::string& key, const std::string& def) const {
  if (!has(key)) return def;
  if (!j_.at(key).is_string()) bad(key, "a string");
  return j_.at(key).get<std::string>();
}

}  // namespace hyb
