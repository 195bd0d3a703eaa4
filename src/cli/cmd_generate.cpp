#include <cstdio>
#include <set>
#include <sstream>

#include "cli/common.h"
#include "core/error.h"
#include "core/npy.h"
#include "core/timer.h"
#include "infer/sampler.h"
#include "infer/session.h"

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
               "Streams token ids to stdout; timing goes to stderr.",
               argv[0]};
  std::string dir, ids_path, id_list, dtype = "auto";
  SamplerOptions so;
  int64_t max_tokens = 64, max_context = 0;
  bool ignore_eos = false;
  int threads = 0;
  app.add_option("-m,--model", dir, "Checkpoint directory")->required();
  auto* o_ids = app.add_option("--ids", ids_path, "Prompt token ids .npy ([T] or [1, T])");
  auto* o_list = app.add_option("--prompt-ids", id_list, "Prompt token ids as a comma-separated list");
  o_ids->excludes(o_list);
  app.add_option("-n,--max-tokens", max_tokens, "Tokens to generate")->default_val(64)->check(CLI::NonNegativeNumber);
  app.add_option("--temperature", so.temperature, "Sampling temperature (0 = greedy)")->default_val(0.0)
      ->check(CLI::NonNegativeNumber);
  app.add_option("--top-k", so.top_k, "Keep the k most likely tokens (0 = off)")->default_val(0)->check(CLI::NonNegativeNumber);
  app.add_option("--top-p", so.top_p, "Nucleus sampling mass (1 = off)")->default_val(1.0)->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", so.seed, "Sampling seed")->default_val(0);
  app.add_option("--max-context", max_context, "Refuse prompts longer than this (default: max_position_embeddings)");
  app.add_flag("--ignore-eos", ignore_eos, "Do not stop at the end-of-sequence token");
  app.add_option("--dtype", dtype, "Weight dtype in memory: auto, f32, bf16")->default_val("auto");
  add_threads(app, threads);
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  if (ids_path.empty() && id_list.empty()) {
    std::fprintf(stderr, "error: %s: give a prompt with --ids or --prompt-ids (see --help)\n", argv[0]);
    return 2;
  }
  set_threads(threads);

  Timer load_t;
  Model model(Weights::load(dir, parse_weight_dtype(dtype)));
  const ModelConfig& c = model.config();
  std::vector<int32_t> prompt;
  if (!ids_path.empty()) {
    auto rows = npy_read_ids(ids_path, c.vocab_size);
    if (rows.size() != 1) fail(ids_path, ": generate takes one prompt, got a batch of ", rows.size());
    prompt = rows[0];
  } else {
    prompt = parse_id_list(id_list, c.vocab_size);
  }
  if (prompt.empty()) fail("the prompt is empty");
  if (max_context <= 0) max_context = c.max_position_embeddings;
  if (int64_t(prompt.size()) > max_context)
    fail("prompt has ", prompt.size(), " tokens, more than the context limit of ", max_context, " (--max-context)");
  const std::set<int64_t> eos(c.eos_token_ids.begin(), c.eos_token_ids.end());
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
    std::printf("%d%s", next, generated + 1 < max_tokens ? " " : "");
    std::fflush(stdout);
    ++generated;
    if (!ignore_eos && eos.count(next)) break;
    if (generated >= max_tokens || sess.n_past() + 1 > max_context) break;
    next = sampler.sample(sess.step(next).data(), c.vocab_size);
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
