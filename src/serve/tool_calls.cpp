#include "serve/tool_calls.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "serve/partial_match.h"

namespace hyb::serve {

using ojson = nlohmann::ordered_json;

std::string python_json(const ojson& j) {
  std::string out;
  if (j.is_object()) {
    out += '{';
    bool first = true;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!first) out += ", ";
      first = false;
      out += ojson(it.key()).dump(-1, ' ', false, ojson::error_handler_t::replace) + ": " + python_json(it.value());
    }
    return out + '}';
  }
  if (j.is_array()) {
    out += '[';
    for (size_t i = 0; i < j.size(); ++i) out += (i ? ", " : "") + python_json(j[i]);
    return out + ']';
  }
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

std::string render_tool_calls(const ojson& tool_calls, const std::string& param) {
  if (!tool_calls.is_array()) fail("'", param, "' must be an array");
  std::string out;
  for (size_t i = 0; i < tool_calls.size(); ++i) {
    const ojson& c = tool_calls[i];
    const std::string p = param + "[" + std::to_string(i) + "]";
    if (!c.is_object() || !c.contains("function") || !c["function"].is_object())
      fail("'", p, ".function' must be an object");
    const ojson& f = c["function"];
    if (!f.contains("name") || !f["name"].is_string() || f["name"].get_ref<const std::string&>().empty())
      fail("'", p, ".function.name' must be a non-empty string");
    ojson args = ojson::object();
    if (f.contains("arguments") && f["arguments"].is_string()) {
      const std::string& text = f["arguments"].get_ref<const std::string&>();
      if (!text.empty()) {
        args = ojson::parse(text, nullptr, false);
        if (args.is_discarded()) fail("'", p, ".function.arguments' is not valid JSON");
      }
    } else if (f.contains("arguments") && !f["arguments"].is_null()) {
      args = f["arguments"];
    }
    if (!args.is_object()) fail("'", p, ".function.arguments' must be a JSON object");
    if (i) out += '\n';
    out += f["name"].get<std::string>() + "(";
    bool first = true;
    for (auto it = args.begin(); it != args.end(); ++it) {
      out += (first ? "" : ", ") + it.key() + "=" + python_json(it.value());
      first = false;
    }
    out += ")";
  }
  return out;
}

namespace {

// Python call syntax with literal arguments; Python's and JSON's spellings of the constants both accepted.
class CallParser {
 public:
  explicit CallParser(std::string_view s) : s_(s) {}

  // Calls until the end, separated by whitespace (newlines) or commas. False on anything else.
  bool calls(std::vector<ToolCall>& out) {
    while (true) {
      while (i_ < s_.size() && (std::isspace(uint8_t(s_[i_])) || s_[i_] == ',')) ++i_;
      if (i_ == s_.size()) return !out.empty();
      ToolCall c;
      if (!call(c)) return false;
      out.push_back(std::move(c));
    }
  }

 private:
  void ws() {
    while (i_ < s_.size() && std::isspace(uint8_t(s_[i_]))) ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool ident(std::string& out, bool dashes) {
    ws();
    const size_t b = i_;
    while (i_ < s_.size() && (std::isalnum(uint8_t(s_[i_])) || s_[i_] == '_' || (dashes && (s_[i_] == '-' || s_[i_] == '.'))))
      ++i_;
    if (i_ == b || std::isdigit(uint8_t(s_[b]))) return false;
    out.assign(s_.substr(b, i_ - b));
    return true;
  }
  bool call(ToolCall& c) {
    if (!ident(c.name, true) || !eat('(')) return false;
    ojson args = ojson::object();
    while (!eat(')')) {
      std::string key;
      ojson v;
      if (!ident(key, false) || !eat('=') || !value(v, 0)) return false;
      args[key] = std::move(v);
      if (!eat(',')) {
        if (!eat(')')) return false;
        break;
      }
    }
    c.arguments = python_json(args);
    return true;
  }
  bool value(ojson& v, int depth) {
    if (depth > 32) return false;
    ws();
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '"' || c == '\'') {
      std::string str;
      if (!string(str)) return false;
      v = std::move(str);
      return true;
    }
    if (c == '[' || c == '(') {  // a tuple is written as a list
      const char close = c == '[' ? ']' : ')';
      ++i_;
      v = ojson::array();
      while (!eat(close)) {
        ojson e;
        if (!value(e, depth + 1)) return false;
        v.push_back(std::move(e));
        if (!eat(',')) {
          if (!eat(close)) return false;
          break;
        }
      }
      return true;
    }
    if (c == '{') {
      ++i_;
      v = ojson::object();
      while (!eat('}')) {
        ws();
        std::string key;
        if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\'') || !string(key) || !eat(':')) return false;
        ojson e;
        if (!value(e, depth + 1)) return false;
        v[key] = std::move(e);
        if (!eat(',')) {
          if (!eat('}')) return false;
          break;
        }
      }
      return true;
    }
    if (c == '-' || c == '+' || c == '.' || std::isdigit(uint8_t(c))) return number(v);
    std::string word;
    if (!ident(word, false)) return false;
    if (word == "True" || word == "true") v = true;
    else if (word == "False" || word == "false") v = false;
    else if (word == "None" || word == "null") v = nullptr;
    else return false;
    return true;
  }
  bool number(ojson& v) {
    const size_t b = i_;
    if (s_[i_] == '-' || s_[i_] == '+') ++i_;
    while (i_ < s_.size() && (std::isdigit(uint8_t(s_[i_])) || s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E' ||
                              ((s_[i_] == '-' || s_[i_] == '+') && (s_[i_ - 1] == 'e' || s_[i_ - 1] == 'E'))))
      ++i_;
    std::string t(s_.substr(b, i_ - b));
    if (!t.empty() && t[0] == '+') t.erase(0, 1);
    // Python allows "1." and ".5"; JSON does not.
    const size_t dot = t.find('.');
    if (dot != std::string::npos) {
      if (dot + 1 == t.size() || !std::isdigit(uint8_t(t[dot + 1]))) t.insert(dot + 1, "0");
      if (dot == 0 || !std::isdigit(uint8_t(t[dot - 1]))) t.insert(dot, "0");
    }
    v = ojson::parse(t, nullptr, false);
    return !v.is_discarded() && v.is_number();
  }
  // A quoted string with Python's escapes (\n \t \r \\ \' \" \uXXXX \xXX); an unknown escape keeps its backslash.
  bool string(std::string& out) {
    const char q = s_[i_++];
    while (i_ < s_.size() && s_[i_] != q) {
      char c = s_[i_++];
      if (c == '\n') return false;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) return false;
      c = s_[i_++];
      switch (c) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '\\': case '\'': case '"': out += c; break;
        case 'u': case 'x': {
          const size_t n = c == 'u' ? 4 : 2;
          if (i_ + n > s_.size()) return false;
          uint32_t cp = 0;
          for (size_t k = 0; k < n; ++k) {
            const char h = s_[i_ + k];
            if (!std::isxdigit(uint8_t(h))) return false;
            cp = cp * 16 + uint32_t(std::isdigit(uint8_t(h)) ? h - '0' : std::tolower(h) - 'a' + 10);
          }
          i_ += n;
          if (cp >= 0xD800 && cp < 0xE000) return false;  // surrogates: not one character
          if (cp < 0x80) out += char(cp);
          else if (cp < 0x800) out += {char(0xC0 | (cp >> 6)), char(0x80 | (cp & 0x3F))};
          else out += {char(0xE0 | (cp >> 12)), char(0x80 | ((cp >> 6) & 0x3F)), char(0x80 | (cp & 0x3F))};
          break;
        }
        default: out += '\\'; out += c;
      }
    }
    if (i_ >= s_.size()) return false;
    ++i_;
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::optional<ParsedCalls> parse_tool_calls(std::string_view text, const std::vector<std::string>& tool_names) {
  ParsedCalls r;
  const size_t open = text.find(kCallsOpen);
  if (open != std::string_view::npos) {
    std::string_view block = text.substr(open + kCallsOpen.size());
    const size_t close = block.find(kCallsClose);
    if (close != std::string_view::npos) {
      // Only whitespace may follow the block; anything else means the text is not a call.
      const std::string_view rest = block.substr(close + kCallsClose.size());
      if (!std::all_of(rest.begin(), rest.end(), [](char c) { return std::isspace(uint8_t(c)); })) return std::nullopt;
      block = block.substr(0, close);
    }
    if (!CallParser(block).calls(r.calls)) return std::nullopt;
    r.content.assign(text.substr(0, open));
    return r;
  }
  // No tags: the whole text must be calls, each to a declared tool.
  if (!CallParser(text).calls(r.calls)) return std::nullopt;
  for (const ToolCall& c : r.calls)
    if (std::find(tool_names.begin(), tool_names.end(), c.name) == tool_names.end()) return std::nullopt;
  return r;
}

std::string CallStreamHold::push(const std::string& text) {
  if (in_calls) {
    pending += text;
    return {};
  }
  std::string buf = pending + text;
  pending.clear();
  const size_t p = buf.find(kCallsOpen);
  if (p != std::string::npos) {
    pending = buf.substr(p);
    in_calls = true;
    return buf.substr(0, p);
  }
  const size_t k = partial_match_tail(buf, kCallsOpen);
  pending = buf.substr(buf.size() - k);
  buf.resize(buf.size() - k);
  return buf;
}

}  // namespace hyb::serve
