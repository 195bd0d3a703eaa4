#include "core/jsonl.h"

#include <fstream>

#include "core/error.h"
#include "core/json_parse.h"

namespace hyb {

void read_jsonl(const std::string& path, const std::function<void(const nlohmann::json&, int64_t)>& row,
                const std::function<void(int64_t, const std::string&)>& bad) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open");
  auto report = [&](int64_t line, const std::string& msg) {
    if (bad) bad(line, msg);
    else fail(path, ":", line, ": ", msg);
  };
  std::string text;
  int64_t line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string why;
    const auto j = try_parse_json(text, &why);
    if (!j) {
      report(line, "invalid JSON: " + why);
      continue;
    }
    try {
      row(*j, line);
    } catch (const JsonlRowError& e) {
      report(line, e.msg);
    } catch (const nlohmann::json::exception& e) {
      report(line, std::string("invalid JSON: ") + e.what());
    }
  }
}

}  // namespace hyb
