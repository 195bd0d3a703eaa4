// Tool calls against Python itself: json.dumps for the JSON the template puts in the prompt, and ast (as vLLM's
// olmo3 parser reads the model's call lines) for the calls parsed out of a reply.
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "serve/tool_calls.h"
#include "test_util.h"

using namespace hyb;
using namespace hyb::serve;
using namespace hyb::test;
using ojson = nlohmann::ordered_json;

namespace {

// Runs a Python snippet on stdin lines (one JSON string each) and returns its stdout lines.
std::vector<std::string> python_lines(const std::string& code, const std::vector<std::string>& inputs) {
  TempDir d;
  const std::string in = d.str() + "/in.jsonl", py = d.str() + "/ref.py";
  {
    std::ofstream f(in);
    for (const auto& s : inputs) f << s << "\n";
    std::ofstream(py) << code;
  }
  const RunResult r = run("/usr/bin/python3 " + py + " < " + in + " 2>&1");
  EXPECT_EQ(r.code, 0) << r.out;
  std::vector<std::string> out;
  std::string line;
  for (char c : r.out) {
    if (c == '\n') out.push_back(std::exchange(line, ""));
    else line += c;
  }
  return out;
}

}  // namespace

TEST(ToolCalls, PythonJsonIsJsonDumps) {
  const std::vector<std::string> docs = {
      R"([{"type": "function", "function": {"name": "get_weather", "description": "Weather \"now\"\n\ttab",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "n": {"minimum": 1.5}},
          "required": ["city"]}}}])",
      R"({"zeta": 1, "alpha": [true, false, null, -0.25, 1e-07, 1e21, 3], "empty": {}, "none": [],
          "uni": "héllo → 世界 \u0001 \u001f \\ /"})",
      R"({"big": 12345678901234, "neg": -7, "float": 0.1, "one": 1.0})",
  };
  std::vector<std::string> lines;
  for (const auto& d : docs) lines.push_back(ojson::parse(d).dump());
  const auto want = python_lines("import json, sys\nfor l in sys.stdin:\n"
                                 "    print(json.dumps(json.loads(l), ensure_ascii=False))\n",
                                 lines);
  ASSERT_EQ(want.size(), docs.size());
  for (size_t i = 0; i < docs.size(); ++i) EXPECT_EQ(python_json(ojson::parse(docs[i])), want[i]) << docs[i];
}

TEST(ToolCalls, ParsedCallsMatchPythonAst) {
  // Replies as the model might write them; the reference reads each call line with Python's ast, accepting
  // null/true/false as vLLM's olmo3 parser does, and dumps the keyword arguments with json.dumps.
  const std::vector<std::string> replies = {
      "<function_calls>get_weather(city=\"Paris\", unit='celsius')</function_calls>",
      "Let me look.<function_calls>search(query=\"a \\\"quoted\\\" word\", k=3)\nget_time(tz=None)</function_calls>",
      "<function_calls>f(x=[1, 2.5, -3e2, true], y={\"a\": {'b': null}}, z=False, w=.5)</function_calls>\n",
      "<function_calls>\nnoargs()\n</function_calls>",
      "<function_calls>say(text='line\\nbreak \\u00e9 \\x41')</function_calls>",
  };
  std::vector<std::string> lines;
  for (const auto& r : replies) lines.push_back(nlohmann::json(r).dump());
  const char* ref = R"PY(import ast, json, sys
def val(v):
    if isinstance(v, ast.Constant): return v.value
    if isinstance(v, ast.UnaryOp) and isinstance(v.op, ast.USub): return -val(v.operand)
    if isinstance(v, ast.List): return [val(e) for e in v.elts]
    if isinstance(v, ast.Dict): return {k.value: val(x) for k, x in zip(v.keys, v.values)}
    if isinstance(v, ast.Name): return {"null": None, "true": True, "false": False}[v.id]
    raise ValueError(v)
for l in sys.stdin:
    t = json.loads(l)
    before, _, rest = t.partition("<function_calls>")
    body = rest.split("</function_calls>")[0]
    calls = [ast.parse(x.strip()).body[0].value for x in body.splitlines() if x.strip()]
    print(json.dumps({"content": before, "calls": [[c.func.id, json.dumps({k.arg: val(k.value) for k in c.keywords},
                      ensure_ascii=False)] for c in calls]}, ensure_ascii=False))
)PY";
  const auto want = python_lines(ref, lines);
  ASSERT_EQ(want.size(), replies.size());
  for (size_t i = 0; i < replies.size(); ++i) {
    const auto got = parse_tool_calls(replies[i], {});
    ASSERT_TRUE(got) << replies[i];
    const auto w = nlohmann::json::parse(want[i]);
    EXPECT_EQ(got->content, w["content"].get<std::string>()) << replies[i];
    ASSERT_EQ(got->calls.size(), w["calls"].size()) << replies[i];
    for (size_t c = 0; c < got->calls.size(); ++c) {
      EXPECT_EQ(got->calls[c].name, w["calls"][c][0].get<std::string>()) << replies[i];
      EXPECT_EQ(got->calls[c].arguments, w["calls"][c][1].get<std::string>()) << replies[i];
    }
  }
}

TEST(ToolCalls, NotCallsStayText) {
  const std::vector<std::string> names = {"get_weather"};
  EXPECT_FALSE(parse_tool_calls("The weather is fine.", names));
  EXPECT_FALSE(parse_tool_calls("<function_calls>get_weather(city=Paris)</function_calls>", names));  // bare word
  EXPECT_FALSE(parse_tool_calls("<function_calls>get_weather(\"Paris\")</function_calls>", names));  // positional
  EXPECT_FALSE(parse_tool_calls("<function_calls>get_weather(city='Paris'</function_calls>", names));
  EXPECT_FALSE(parse_tool_calls("<function_calls>get_weather(city='Paris')</function_calls> and more", names));
  EXPECT_FALSE(parse_tool_calls("<function_calls></function_calls>", names));
  EXPECT_FALSE(parse_tool_calls("print(x=1)", names));  // untagged: only declared tools count
  // Untagged call lines to declared tools, and a block cut by max_tokens after a complete call.
  const auto bare = parse_tool_calls("get_weather(city='Oslo')\n", names);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->calls[0].arguments, R"({"city": "Oslo"})");
  const auto cut = parse_tool_calls("<function_calls>get_weather(city='Rome')\n", names);
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->calls[0].name, "get_weather");
  // Nesting is bounded: a hostile reply does not recurse without end.
  EXPECT_FALSE(parse_tool_calls("<function_calls>f(x=" + std::string(10000, '[') + ")</function_calls>", names));
}

TEST(ToolCalls, RenderedCallsAreTemplateLines) {
  const auto calls = ojson::parse(R"([
    {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\", \"days\": [1, 2]}"}},
    {"id": "b", "type": "function", "function": {"name": "now", "arguments": "{}"}}])");
  EXPECT_EQ(render_tool_calls(calls, "tool_calls"), "get_weather(city=\"Paris\", days=[1, 2])\nnow()");
  EXPECT_THROW(render_tool_calls(ojson::parse(R"([{"function": {"name": "f", "arguments": "{bad"}}])"), "m"), Error);
  EXPECT_THROW(render_tool_calls(ojson::parse(R"([{"function": {"arguments": "{}"}}])"), "m"), Error);
  EXPECT_THROW(render_tool_calls(ojson::parse(R"([{"function": {"name": "f", "arguments": "[1]"}}])"), "m"), Error);
}

TEST(ToolCalls, StreamHoldsOnlyWhatCouldBeACall) {
  CallStreamHold h;
  std::string sent;
  for (const char* piece : {"Sure", ", <", "b>bold</b> <fun", "ction_ca", "lls>get_weather(", "city='X')", "</function_calls>"})
    sent += h.push(piece);
  EXPECT_EQ(sent, "Sure, <b>bold</b> ");
  EXPECT_TRUE(h.in_calls);
  EXPECT_EQ(h.pending, "<function_calls>get_weather(city='X')</function_calls>");
  CallStreamHold plain;
  EXPECT_EQ(plain.push("a <"), "a ");
  EXPECT_EQ(plain.push("x"), "<x");
  EXPECT_FALSE(plain.in_calls);
  EXPECT_TRUE(plain.pending.empty());
}
