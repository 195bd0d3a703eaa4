#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>

#include "cli/common.h"
#include "core/error.h"
#include "core/npy.h"
#include "core/timer.h"
#include "infer/sampler.h"
#include "infer/session.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"

namespace hyb::cli {

namespace {
std::vector<int32_t> parse_id_list(const std::string& s, int64_t vocab) {
  std::vector<int32_t> ids;
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    size_t pos = 0;
    long long v = 0;
    try {
      v = std::stoll(tok, &pos);
    } catch (...) {
      fail("--prompt-ids: '", tok, "' is not an integer");
    }
    while (pos < tok.size() && std::isspace(static_cast<unsigned char>(tok[pos]))) ++pos;
    if (pos != tok.size()) fail("--prompt-ids: '", tok, "' is not an integer");
    if (v < 0 || v >= vocab) fail("--prompt-ids: token id ", v, " is outside the vocabulary [0, ", vocab, ")");
    ids.push_back(int32_t(v));
  }
  return ids;
}
}  // namespace

int run_generate(int argc, char** argv) {
  CLI::App app{"Generate tokens with the cache (KV for attention layers, conv + recurrent state for GDN layers). "
               "Streams decoded text to stdout when a tokenizer is available (else token ids); timing goes to stderr.",
               argv[0]};
  std::string dir, ids_path, id_list, dtype = "auto";
  SamplerOptions so;
  int64_t max_tokens = 64, max_context = 0;
  bool ignore_eos = false;
  int threads = 0;
  ComputeFlags compute;
  LoadFlags load;
  app.add_option("-m,--model", dir, "Checkpoint directory")->required();
  auto* o_ids = app.add_option("--ids", ids_path, "Prompt token ids .npy ([T] or [1, T])");
  auto* o_list = app.add_option("--prompt-ids", id_list, "Prompt token ids as a comma-separated list");
  o_ids->excludes(o_list);
  std::string prompt_text, tok_path;
  bool chat = false, print_ids = false;
  auto* o_prompt = app.add_option("-p,--prompt", prompt_text, "Prompt text (encoded ordinarily: special-token strings "
                                  "are plain text)");
  o_prompt->excludes(o_ids)->excludes(o_list);
  app.add_option("--tokenizer", tok_path, "tokenizer.json, its directory or a .tiktoken file (default: the model "
                 "directory when it has tokenizer.json)");
  app.add_flag("--chat", chat, "Wrap --prompt as a user turn in the chat template and stop at <|im_end|>")->needs(o_prompt);
  app.add_flag("--print-ids", print_ids, "Print token ids even when a tokenizer is available");
  app.add_option("-n,--max-tokens", max_tokens, "Tokens to generate")->default_val(64)->check(NonNegative);
  app.add_option("--temperature", so.temperature, "Sampling temperature (0 = greedy)")->default_val(0.0)
      ->check(NonNegative);
  app.add_option("--top-k", so.top_k, "Keep the k most likely tokens (0 = off)")->default_val(0)->check(NonNegative);
  app.add_option("--top-p", so.top_p, "Nucleus sampling mass (1 = off)")->default_val(1.0)->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", so.seed, "Sampling seed")->default_val(0);
  app.add_option("--max-context", max_context, "Refuse prompts longer than this (default: max_position_embeddings)");
  app.add_flag("--ignore-eos", ignore_eos, "Do not stop at the end-of-sequence token");
  add_weight_dtype(app, dtype, "auto");
  load.add(app);
  add_threads(app, threads);
  compute.add(app, "fast");
  std::string kv_dtype;
  add_kv_dtype(app, kv_dtype);
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  if (ids_path.empty() && id_list.empty() && o_prompt->count() == 0) {
    std::fprintf(stderr, "error: %s: give a prompt with --prompt, --ids or --prompt-ids (see --help)\n", argv[0]);
    return 2;
  }
  set_threads(threads);
  compute.apply();

  Timer load_t;
  Model model(Weights::load(dir, parse_weight_dtype(dtype), load.use_mmap(dir)));
  model.set_kv_dtype(parse_kv_dtype(kv_dtype));
  const ModelConfig& c = model.config();
  std::vector<int32_t> prompt;
  if (!ids_path.empty()) {
    auto rows = npy_read_ids(ids_path, c.vocab_size);
    if (rows.size() != 1) fail(ids_path, ": generate takes one prompt, got a batch of ", rows.size());
    prompt = rows[0];
  } else if (!id_list.empty()) {
    prompt = parse_id_list(id_list, c.vocab_size);
  }
  std::optional<Tokenizer> tok;
  tok_path = Tokenizer::default_path(tok_path, dir);
  if (!tok_path.empty()) tok.emplace(Tokenizer::load(tok_path));
  if (o_prompt->count()) {
    if (!tok) fail(dir, ": --prompt needs a tokenizer: the model directory has no tokenizer.json, give --tokenizer");
    if (chat) {
      ChatOptions co;
      if (!tok->config().eos_token.empty()) co.eos_token = tok->config().eos_token;
      prompt = tok->encode_with_special(render_chat({{"user", prompt_text}}, co));
    } else {
      prompt = tok->encode(prompt_text);
    }
    for (int32_t id : prompt)
      if (id >= c.vocab_size) fail("tokenizer id ", id, " is outside the model's vocabulary of ", c.vocab_size);
  }
  if (prompt.empty()) fail("the prompt is empty");
  if (max_context <= 0) max_context = c.max_position_embeddings;
  if (int64_t(prompt.size()) > max_context)
    fail("prompt has ", prompt.size(), " tokens, more than the context limit of ", max_context, " (--max-context)");
  std::set<int64_t> eos(c.eos_token_ids.begin(), c.eos_token_ids.end());
  if (tok)
    for (int32_t id : tok->stop_ids(chat)) eos.insert(id);
  const bool text_out = tok && !print_ids;
  std::optional<StreamDecoder> stream;
  if (text_out) stream.emplace(*tok);
  const double load_s = load_t.seconds();

  Session sess(model);
  Sampler sampler(so);
  Timer t;
  const auto& logits = sess.prefill(prompt);
  const double prefill_s = t.seconds();
  t.reset();
  int64_t generated = 0;
  int32_t next = sampler.sample(logits.data(), c.vocab_size);
  while (generated < max_tokens) {
    const bool stop = !ignore_eos && eos.count(next);
    if (!text_out) {
      std::printf("%d%s", next, generated + 1 < max_tokens ? " " : "");
    } else if (!stop) {  // stop tokens are control tokens, not text
      // Padding ids past the tokenizer's vocabulary (untrained models sample them) show as U+FFFD.
      const std::string piece = tok->has_id(next) ? stream->push(next) : stream->finish() + "\xEF\xBF\xBD";
      std::fwrite(piece.data(), 1, piece.size(), stdout);
    }
    std::fflush(stdout);
    ++generated;
    if (stop) break;
    if (generated >= max_tokens || sess.n_past() + 1 > max_context) break;
    next = sampler.sample(sess.step(next).data(), c.vocab_size);
  }
  if (text_out) {
    const std::string rest = stream->finish();
    std::fwrite(rest.data(), 1, rest.size(), stdout);
  }
  std::printf("\n");
  std::fflush(stdout);
  const double decode_s = t.seconds();
  const int64_t steps = std::max<int64_t>(1, generated - 1);  // the first token came from the prefill
  std::fprintf(stderr,
               "load %.2f s | prompt %zu tokens, prefill %.1f tok/s | generated %ld tokens, decode %.2f tok/s "
               "(%.2f ms/token) | cache %.1f MB\n",
               load_s, prompt.size(), double(prompt.size()) / prefill_s, long(generated),
               generated > 1 ? double(steps) / decode_s : 0.0, generated > 1 ? 1e3 * decode_s / double(steps) : 0.0,
               double(sess.cache().bytes()) / 1e6);
  return 0;
}

}  // namespace hyb::cli
