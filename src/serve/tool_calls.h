// Tool calling in the OLMo 3 / Hybrid Instruct format (spec section 6.2). The tools go into the system turn as
// JSON inside <functions></functions>; the model answers with calls inside <function_calls></function_calls>, one
// per line, written as Python calls with keyword arguments: name(key=value, ...). This file turns OpenAI's
// structured tools and tool_calls into that text and the model's text back into OpenAI tool calls.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace hyb::serve {

inline constexpr std::string_view kCallsOpen = "<function_calls>";
inline constexpr std::string_view kCallsClose = "</function_calls>";

// JSON as Python's json.dumps(..., ensure_ascii=False) writes it (", " and ": " separators, keys in their order),
// which is what the HF template's `tojson` puts into the prompt.
std::string python_json(const nlohmann::ordered_json& j);

// One assistant message's OpenAI tool_calls as the template's call lines: name(key=<json>, ...) per call, joined
// by newlines. `arguments` is the JSON text OpenAI sends. Throws hyb::Error naming `param` on a malformed call.
std::string render_tool_calls(const nlohmann::ordered_json& tool_calls, const std::string& param);

struct ToolCall {
  std::string name;
  std::string arguments;  // a JSON object, as text
};

struct ParsedCalls {
  std::string content;          // text before the calls (may be empty)
  std::vector<ToolCall> calls;  // at least one
};

// The calls in a finished assistant text: a <function_calls> block (closed, or cut at the end of the text), or,
// when the whole text is call lines, calls to names in `tool_names` without the tags. nullopt when there are no
// calls or a line does not parse (the text is then plain content, as vLLM's olmo3 parser does).
std::optional<ParsedCalls> parse_tool_calls(std::string_view text, const std::vector<std::string>& tool_names);

// Streamed chat with tools: content passes through until a <function_calls> tag begins; from there the text is
// held (`pending`), to be parsed into calls when the request ends. A tail that could still grow into the tag is
// held too, and sent with the next piece if it does not.
struct CallStreamHold {
  std::string pending;
  bool in_calls = false;
  std::string push(const std::string& text);  // the part of `text` that can be sent as content now
};

}  // namespace hyb::serve
