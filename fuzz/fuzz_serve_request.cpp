// Request bodies of every server endpoint that takes one: /v1/chat/completions, /v1/completions, /tokenize,
// /detokenize. Parsing and validation only (what runs before the scheduler): a bad body must be a 4xx ApiError.
// The first byte picks the endpoint; the rest is the body.
#include "fuzz_util.h"
#include "serve/api_error.h"
#include "serve/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyb;
  using namespace hyb::serve;
  if (size < 1) return 0;
  const Tokenizer& tok = fuzz::small_tokenizer();
  ParseContext ctx;
  ctx.tok = &tok;
  ctx.model_name = "tiny";
  ctx.vocab_size = tok.vocab_size();
  ctx.max_context = 256;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const nlohmann::json b = parse_body(body);
    switch (data[0] % 4) {
      case 0:
      case 1: {
        const GenRequest r = data[0] % 4 == 0 ? parse_chat_request(b, ctx, body) : parse_completion_request(b, ctx);
        fuzz::check(!r.prompt.empty() && int64_t(r.prompt.size()) < ctx.max_context, "prompt length");
        for (int32_t id : r.prompt) fuzz::check(id >= 0 && id < ctx.vocab_size, "prompt id outside the vocabulary");
        for (int64_t p : r.boundaries) fuzz::check(p >= 0 && p <= int64_t(r.prompt.size()), "boundary position");
        fuzz::check(r.max_tokens == -1 || r.max_tokens >= 1, "max_tokens");
        fuzz::check(r.top_logprobs >= 0 && r.top_logprobs <= 20, "top_logprobs");
        break;
      }
      case 2: {
        const TokenizeRequest t = parse_tokenize_request(b);
        const auto ids = t.special ? tok.encode_with_special(t.text) : tok.encode(t.text);
        fuzz::check(tok.decode(ids) == t.text, "/tokenize: decode(encode(x)) != x");
        break;
      }
      default:
        (void)tok.decode(parse_detokenize_request(b, tok));
    }
  } catch (const ApiError& e) {
    if (e.status < 400 || e.status >= 500) fuzz::violated("request parsing answered " + std::to_string(e.status));
  } catch (const Error&) {
    // Tokenizer errors are reported as 400 by the server's handler.
  }
  return 0;
}
