#include "serve/scheduler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include "core/error.h"
#include "infer/sampler.h"
#include "serve/partial_match.h"
#include "tokenizer/stream_decoder.h"

namespace hyb::serve {

struct Scheduler::Seq {
  std::shared_ptr<RequestState> r;
  int slot = -1;
  std::vector<int32_t> all;       // prompt, then generated tokens
  int64_t prompt_len = 0, fed = 0, max_new = 0;
  std::optional<StreamDecoder> dec;
  std::string held;               // text held back: it may be the start of a stop string
  std::optional<Sampler> sampler;
  std::map<int32_t, int> counts;  // generated token counts (penalties)
  std::set<int64_t> stop_ids;
  std::vector<float> cached_logits;  // a repeated prompt: its next-token logits came from the prefix cache
  bool finished = false;
};

double Scheduler::now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Scheduler::Scheduler(Model& model, const Tokenizer* tok, Options opt, Metrics& metrics)
    : model_(model), tok_(tok), opt_(opt), metrics_(metrics), slots_(model.config(), opt.parallel, 0, model.kv_dtype()),
      prefix_(opt.prefix_cache_bytes) {
  metrics_.slots_total = opt.parallel;
  metrics_.slots_free = opt.parallel;
  worker_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() { stop(); }

bool Scheduler::submit(const std::shared_ptr<RequestState>& r) {
  std::lock_guard<std::mutex> g(qm_);
  // Free slots take requests at once; beyond them at most max_queue may wait.
  const int64_t free_slots = opt_.parallel - metrics_.running;
  if (stop_ || int64_t(queue_.size()) >= opt_.max_queue + std::max<int64_t>(0, free_slots)) return false;
  queue_.push_back(r);
  metrics_.waiting = int64_t(queue_.size());
  qcv_.notify_one();
  return true;
}

void Scheduler::stop() {
  {
    std::lock_guard<std::mutex> g(qm_);
    stop_ = true;
    qcv_.notify_all();
  }
  if (worker_.joinable()) worker_.join();
}

void Scheduler::emit(Seq& s, TokenOut t) {
  RequestState& r = *s.r;
  const double t_now = now();
  if (r.t_first < 0) {
    r.t_first = t_now;
    metrics_.ttft.observe(t_now - r.t_arrival);
  } else {
    metrics_.itl.observe(t_now - r.t_last);
  }
  r.t_last = t_now;
  std::lock_guard<std::mutex> g(r.m);
  r.out.push_back(std::move(t));
  r.cv.notify_all();
}

void Scheduler::finish(Seq& s, const char* reason) {
  RequestState& r = *s.r;
  const bool cancelled = std::string(reason) == "cancelled";
  std::string rest = s.dec ? s.dec->finish() : "";
  rest = s.held + rest;
  s.held.clear();
  if (!rest.empty() && !cancelled) {
    TokenOut t;
    t.id = -1;  // text only, no token
    t.text = rest;
    std::lock_guard<std::mutex> g(r.m);
    r.out.push_back(std::move(t));
  }
  // The state holds prompt + every generated token but the last: the next chat turn starts with all of them.
  if (!cancelled)
    prefix_.insert(std::span<const int32_t>(s.all.data(), size_t(s.fed)), slots_.at(s.slot));
  metrics_.cache_bytes = int64_t(prefix_.bytes());
  metrics_.cache_entries = int64_t(prefix_.entries());
  slots_.release(s.slot);
  s.finished = true;
  const double t_end = now();
  metrics_.e2e.observe(t_end - r.t_arrival);
  {
    std::lock_guard<std::mutex> g(r.m);
    r.done = true;
    r.finish_reason = reason;
    r.t_end = t_end;
    r.cv.notify_all();
  }
  if (opt_.log) {
    const double gen_s = r.t_first >= 0 ? t_end - r.t_first : 0;
    std::fprintf(stderr,
                 "%s | prompt %ld tokens, cached %ld | generated %ld | queue %.1f ms | ttft %.1f ms | %.2f tok/s | "
                 "%s\n",
                 r.id.c_str(), long(r.prompt_tokens), long(r.cached_tokens), long(r.completion_tokens),
                 1e3 * (r.t_admitted - r.t_arrival), r.t_first >= 0 ? 1e3 * (r.t_first - r.t_arrival) : 0.0,
                 r.completion_tokens > 1 && gen_s > 0 ? double(r.completion_tokens - 1) / gen_s : 0.0, reason);
  }
}

namespace {
constexpr int64_t kReserveAhead = 256;  // generated tokens a new sequence's K/V has room for before it first grows
}  // namespace

bool Scheduler::admit() {
  bool any = false;
  while (int(running_.size()) < opt_.parallel) {
    std::shared_ptr<RequestState> r;
    {
      std::lock_guard<std::mutex> g(qm_);
      if (queue_.empty()) break;
      r = queue_.front();
      queue_.pop_front();
      metrics_.waiting = int64_t(queue_.size());
    }
    r->t_admitted = now();
    if (r->cancelled) {
      std::lock_guard<std::mutex> g(r->m);
      r->done = true;
      r->finish_reason = "cancelled";
      r->cv.notify_all();
      continue;
    }
    auto s = std::make_unique<Seq>();
    s->r = r;
    s->slot = slots_.acquire();
    HYB_ASSERT(s->slot >= 0);
    const GenRequest& q = r->req;
    s->all = q.prompt;
    s->prompt_len = int64_t(q.prompt.size());
    const int64_t room = opt_.max_context - s->prompt_len;
    s->max_new = q.max_tokens > 0 ? std::min(q.max_tokens, room) : room;
    if (tok_) s->dec.emplace(*tok_);
    s->sampler.emplace(q.sampling);
    const ModelConfig& c = model_.config();
    s->stop_ids.insert(c.eos_token_ids.begin(), c.eos_token_ids.end());
    if (tok_)
      for (int32_t id : tok_->stop_ids(q.chat)) s->stop_ids.insert(id);
    Cache& cache = slots_.at(s->slot);
    const PrefixCache::Match m = prefix_.restore(q.prompt, cache);
    s->fed = m.tokens;
    s->cached_logits = std::move(m.logits);
    if (m.tokens == 0) cache.reset();
    // Room for the prompt and the first tokens; the cache then grows by doubling as tokens come. Reserving all of
    // max_tokens up front would let one request with a huge max_tokens take gigabytes (and seconds of page
    // faults, stalling every other sequence) for tokens it may never produce.
    cache.reserve(s->prompt_len + std::min<int64_t>(s->max_new, kReserveAhead));
    r->prompt_tokens = s->prompt_len;
    r->cached_tokens = m.tokens;
    metrics_.prompt_tokens += s->prompt_len;
    metrics_.cached_tokens += m.tokens;
    metrics_.reprefilled_tokens += std::max<int64_t>(0, std::min<int64_t>(m.common, s->prompt_len - 1) - m.tokens);
    running_.push_back(std::move(s));
    any = true;
  }
  metrics_.running = int64_t(running_.size());
  metrics_.slots_free = slots_.free_count();
  return any;
}

void Scheduler::step() {
  const ModelConfig& c = model_.config();
  const int64_t V = c.vocab_size;
  // A repeated prompt needs no forward: its logits came with the snapshot.
  for (auto& sp : running_)
    if (!sp->cached_logits.empty()) {
      std::vector<float> lg = std::move(sp->cached_logits);
      sp->cached_logits.clear();
      on_logits(*sp, lg.data());
    }
  // Decode rows first (they share one row-wise call), then prefill chunks.
  std::vector<Segment> segs;
  std::vector<Seq*> owner;
  for (auto& sp : running_) {
    Seq& s = *sp;
    if (s.finished || s.fed < s.prompt_len) continue;
    segs.push_back({s.all.data() + s.fed, 1, s.fed, &slots_.at(s.slot), LogitRows::Last});
    owner.push_back(&s);
  }
  int64_t budget = opt_.step_prefill_tokens;
  bool any_prefill = false;
  for (auto& sp : running_) {
    Seq& s = *sp;
    if (s.finished || s.fed >= s.prompt_len) continue;
    // Chunks end on the grid, at turn boundaries and at the prompt's end: all functions of the prompt alone.
    int64_t end = std::min((s.fed / opt_.chunk + 1) * opt_.chunk, s.prompt_len);
    for (int64_t b : s.r->req.boundaries)
      if (b > s.fed && b < end) end = b;
    const int64_t n = end - s.fed;
    if (any_prefill && n > budget) continue;  // next step: chunks are never cut to fit
    budget -= n;
    any_prefill = true;
    segs.push_back({s.all.data() + s.fed, n, s.fed, &slots_.at(s.slot),
                    s.fed + n == s.prompt_len ? LogitRows::Last : LogitRows::None});
    owner.push_back(&s);
  }
  if (!segs.empty()) {
    logits_.resize(size_t(Model::logit_rows(segs) * V));
    model_.forward(segs, logits_.data());
    int64_t row = 0;
    for (size_t i = 0; i < segs.size(); ++i) {
      Seq& s = *owner[i];
      const bool prefill = s.fed < s.prompt_len;
      s.fed += segs[i].n;
      if (s.fed < s.prompt_len) {
        const auto& bs = s.r->req.boundaries;
        if (s.fed % opt_.snapshot_interval == 0 || std::find(bs.begin(), bs.end(), s.fed) != bs.end())
          prefix_.insert(std::span<const int32_t>(s.all.data(), size_t(s.fed)), slots_.at(s.slot));
        continue;
      }
      const float* lg = logits_.data() + row * V;
      ++row;
      if (prefill) prefix_.insert(s.r->req.prompt, slots_.at(s.slot), lg, V);  // the end of the prompt
      on_logits(s, lg);
    }
  }
  std::erase_if(running_, [](const std::unique_ptr<Seq>& s) { return s->finished; });
  metrics_.running = int64_t(running_.size());
  metrics_.slots_free = slots_.free_count();
}

void Scheduler::on_logits(Seq& s, const float* lg) {
  const int64_t V = model_.config().vocab_size;
  const GenRequest& q = s.r->req;
  TokenOut t;
  const float* sample_from = lg;
  if (q.presence_penalty != 0.f || q.frequency_penalty != 0.f || !q.logit_bias.empty()) {
    work_.assign(lg, lg + V);
    for (auto& [id, n] : s.counts) work_[size_t(id)] -= q.presence_penalty + q.frequency_penalty * float(n);
    for (auto& [id, bias] : q.logit_bias) work_[size_t(id)] += bias;
    sample_from = work_.data();
  }
  t.id = s.sampler->sample(sample_from, V);
  if (q.logprobs) {
    const float mx = *std::max_element(lg, lg + V);
    double z = 0;
    for (int64_t v = 0; v < V; ++v) z += std::exp(double(lg[v] - mx));
    const float lse = mx + float(std::log(z));
    t.logprob = lg[t.id] - lse;
    if (q.top_logprobs > 0) {
      std::vector<int32_t> idx(static_cast<size_t>(V));
      for (int64_t v = 0; v < V; ++v) idx[size_t(v)] = int32_t(v);
      const size_t k = std::min<size_t>(size_t(q.top_logprobs), idx.size());
      std::partial_sort(idx.begin(), idx.begin() + long(k), idx.end(), [&](int32_t a, int32_t b) { return lg[a] > lg[b]; });
      for (size_t j = 0; j < k; ++j) t.top.push_back({idx[j], lg[idx[j]] - lse});
    }
  }
  if (!q.ignore_eos && s.stop_ids.count(t.id)) return finish(s, "stop");
  s.all.push_back(t.id);
  s.counts[t.id]++;
  s.r->completion_tokens++;
  metrics_.generated_tokens++;
  std::string piece;
  if (s.dec) piece = tok_->has_id(t.id) ? s.dec->push(t.id) : s.dec->finish() + "\xEF\xBF\xBD";
  std::string text = s.held + piece;
  s.held.clear();
  bool stopped = false;
  for (const std::string& st : q.stop) {
    const size_t p = text.find(st);
    if (p != std::string::npos) {
      text.resize(p);
      stopped = true;
    }
  }
  if (!stopped) {
    // Hold back a tail that could still grow into a stop string.
    size_t hold = 0;
    for (const std::string& st : q.stop) hold = std::max(hold, partial_match_tail(text, st));
    s.held = text.substr(text.size() - hold);
    text.resize(text.size() - hold);
  }
  t.text = std::move(text);
  emit(s, std::move(t));
  if (stopped) {
    s.dec.reset();  // text past the stop string is dropped
    finish(s, "stop");
  } else if (s.r->completion_tokens >= s.max_new || s.fed + 1 >= opt_.max_context) {
    finish(s, "length");
  }
}

void Scheduler::loop() {
  while (true) {
    {
      std::unique_lock<std::mutex> lk(qm_);
      if (running_.empty() && queue_.empty())
        qcv_.wait_for(lk, std::chrono::milliseconds(100), [&] { return stop_ || !queue_.empty(); });
      if (stop_) break;
    }
    // Clients that went away free their slot before the next step.
    for (auto& s : running_)
      if (s->r->cancelled) finish(*s, "cancelled");
    std::erase_if(running_, [](const std::unique_ptr<Seq>& s) { return s->finished; });
    admit();
    try {
      step();
    } catch (const std::exception& e) {
      // Requests are validated before they get here; a failure now is the server's, reported to every client.
      std::fprintf(stderr, "error: scheduler step failed: %s\n", e.what());
      for (auto& s : running_) finish(*s, "error");
      running_.clear();
    }
  }
  for (auto& s : running_) finish(*s, "cancelled");
  running_.clear();
  std::lock_guard<std::mutex> g(qm_);
  for (auto& r : queue_) {
    std::lock_guard<std::mutex> g2(r->m);
    r->done = true;
    r->finish_reason = "cancelled";
    r->cv.notify_all();
  }
  queue_.clear();
}

}  // namespace hyb::serve
