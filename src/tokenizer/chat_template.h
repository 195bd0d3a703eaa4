// Chat template of the OLMo 3 / Hybrid Instruct models (spec section 6.2), rendered directly in C++ so generation
// and the server need no Jinja engine. kChatTemplateJinja is the same template as Jinja source, written into
// tokenizer_config.json for HF-compatible tools; tests check that both render identically.
#pragma once
#include <string>
#include <vector>

namespace hyb {

struct ChatMessage {
  std::string role;            // system, user, assistant, environment (tool is rendered as environment)
  std::string content;
  std::string functions = {};       // system: function signatures as text (optional)
  std::string function_calls = {};  // assistant: calls as text (optional)
};

struct ChatOptions {
  bool add_generation_prompt = true;
  std::string tools_json;               // structured tools, already serialised as JSON (optional)
  std::string eos_token = "<|endoftext|>";  // ends the conversation's last assistant turn
};

std::string render_chat(const std::vector<ChatMessage>& messages, const ChatOptions& options = {});

extern const char* const kChatTemplateJinja;

}  // namespace hyb
