#include "tokenizer/chat_template.h"

#include "core/error.h"

namespace hyb {

namespace {
const char* const kDefaultSystem =
    "You are a helpful function-calling AI assistant. You do not currently have access to any functions. "
    "<functions></functions>";
const char* const kDefaultSystemTools =
    "You are a helpful function-calling AI assistant. You are provided with function signatures within "
    "<functions></functions> XML tags. You may call one or more functions to assist with the user query. Output "
    "any function calls within <function_calls></function_calls> XML tags. Do not make assumptions about what "
    "values to plug into functions.";
}  // namespace

// Expressions only (no raw template text), so whitespace control cannot eat the newlines.
const char* const kChatTemplateJinja =
    "{%- set ns = namespace(has_system=false) -%}"
    "{%- for message in messages -%}{%- if message['role'] == 'system' -%}{%- set ns.has_system = true -%}"
    "{%- endif -%}{%- endfor -%}"
    "{%- if not ns.has_system -%}"
    "{%- if tools is defined and tools -%}"
    "{{ '<|im_start|>system\\nYou are a helpful function-calling AI assistant. You are provided with function "
    "signatures within <functions></functions> XML tags. You may call one or more functions to assist with the "
    "user query. Output any function calls within <function_calls></function_calls> XML tags. Do not make "
    "assumptions about what values to plug into functions.<functions>' + (tools | tojson) + "
    "'</functions><|im_end|>\\n' }}"
    "{%- else -%}"
    "{{ '<|im_start|>system\\nYou are a helpful function-calling AI assistant. You do not currently have access to "
    "any functions. <functions></functions><|im_end|>\\n' }}"
    "{%- endif -%}"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}"
    "{{ '<|im_start|>system\\n' + message['content'] }}"
    "{%- if tools is defined and tools -%}{{ '<functions>' + (tools | tojson) + '</functions>' }}"
    "{%- elif message['functions'] is defined and message['functions'] -%}"
    "{{ ' <functions>' + message['functions'] + '</functions>' }}{%- endif -%}"
    "{{ '<|im_end|>\\n' }}"
    "{%- elif message['role'] == 'user' -%}"
    "{{ '<|im_start|>user\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{ '<|im_start|>assistant\\n' }}"
    "{%- if message['content'] is defined and message['content'] -%}{{ message['content'] }}{%- endif -%}"
    "{%- if message['function_calls'] is defined and message['function_calls'] -%}"
    "{{ '<function_calls>' + message['function_calls'] + '</function_calls>' }}{%- endif -%}"
    "{%- if loop.last -%}{{ eos_token }}{%- else -%}{{ '<|im_end|>\\n' }}{%- endif -%}"
    "{%- elif message['role'] == 'environment' or message['role'] == 'tool' -%}"
    "{{ '<|im_start|>environment\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}";

std::string render_chat(const std::vector<ChatMessage>& messages, const ChatOptions& options,
                        std::vector<TextSpan>* assistant_spans) {
  if (assistant_spans) assistant_spans->clear();
  std::string out;
  const bool tools = !options.tools_json.empty();
  bool has_system = false;
  for (const auto& m : messages) has_system = has_system || m.role == "system";
  if (!has_system) {
    if (tools)
      out += str("<|im_start|>system\n", kDefaultSystemTools, "<functions>", options.tools_json, "</functions><|im_end|>\n");
    else
      out += str("<|im_start|>system\n", kDefaultSystem, "<|im_end|>\n");
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    const bool last = i + 1 == messages.size();
    if (m.role == "system") {
      out += "<|im_start|>system\n" + m.content;
      if (tools)
        out += "<functions>" + options.tools_json + "</functions>";
      else if (!m.functions.empty())
        out += " <functions>" + m.functions + "</functions>";
      out += "<|im_end|>\n";
    } else if (m.role == "user") {
      out += "<|im_start|>user\n" + m.content + "<|im_end|>\n";
    } else if (m.role == "assistant") {
      out += "<|im_start|>assistant\n";
      const size_t begin = out.size();
      out += m.content;
      if (!m.function_calls.empty()) out += "<function_calls>" + m.function_calls + "</function_calls>";
      out += last ? options.eos_token : "<|im_end|>";
      if (assistant_spans) assistant_spans->push_back({begin, out.size()});
      if (!last) out += "\n";
    } else if (m.role == "environment" || m.role == "tool") {
      out += "<|im_start|>environment\n" + m.content + "<|im_end|>\n";
    } else {
      fail("chat message ", i, ": unknown role '", m.role, "' (system, user, assistant, environment, tool)");
    }
  }
  if (options.add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

}  // namespace hyb
