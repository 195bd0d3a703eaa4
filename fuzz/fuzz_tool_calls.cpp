// Model replies read for tool calls (any text a model may write): parse_tool_calls never fails on its input, and
// every call it returns has a name and arguments that are one JSON object. The streaming filter, fed the same text
// in pieces, sends a prefix of it and holds exactly the rest.
#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "serve/tool_calls.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyb;
  using namespace hyb::serve;
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (const auto r = parse_tool_calls(text, {"get_weather", "f"})) {
    fuzz::check(!r->calls.empty(), "parsed calls but none returned");
    for (const ToolCall& c : r->calls) {
      fuzz::check(!c.name.empty(), "a call without a name");
      const auto args = nlohmann::json::parse(c.arguments, nullptr, false);
      fuzz::check(!args.is_discarded() && args.is_object(), "arguments are not one JSON object");
    }
  }
  CallStreamHold h;
  std::string sent;
  for (size_t i = 0; i < text.size(); i += 3) sent += h.push(text.substr(i, 3));
  fuzz::check(sent + h.pending == text, "the stream filter lost or reordered text");
  return 0;
}
