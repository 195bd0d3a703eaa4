// Continuous batching over cache slots. One worker thread owns the model: every step it decodes one token for
// each running sequence and feeds prefill chunks of new ones (bounded per step so decode latency stays low), all
// in one batched forward. Prefill chunks lie on a fixed grid of positions and are never cut to fit a step, so a
// request's numbers do not depend on the load (greedy output is the same at any concurrency); the model core's
// batch invariance does the rest. Requests come from HTTP threads through a bounded queue; tokens go back through
// each request's RequestState.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "model/cache_slots.h"
#include "model/model.h"
#include "serve/metrics.h"
#include "serve/prefix_cache.h"
#include "serve/request.h"

namespace hyb::serve {

struct TokenOut {
  int32_t id = 0;
  std::string text;                              // printable text this token completed (may be empty)
  float logprob = 0.f;
  std::vector<std::pair<int32_t, float>> top;    // top_logprobs alternatives
};

// Shared between the HTTP thread that serves a request and the scheduler.
struct RequestState {
  explicit RequestState(GenRequest r) : req(std::move(r)) {}
  GenRequest req;
  std::string id;
  std::mutex m;
  std::condition_variable cv;
  std::deque<TokenOut> out;           // produced, not yet sent
  bool done = false;
  std::string finish_reason;          // stop | length | cancelled
  std::atomic<bool> cancelled{false}; // the client went away
  int64_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
  double t_arrival = 0, t_admitted = 0, t_first = -1, t_last = 0, t_end = 0;
};

class Scheduler {
 public:
  struct Options {
    int parallel = 4;                  // sequences running at once (= cache slots)
    int max_queue = 64;                // waiting requests beyond which submit() refuses (HTTP 429)
    size_t prefix_cache_bytes = 0;     // 0 = no prefix cache
    int64_t max_context = 0;
    int64_t chunk = 512;               // prefill chunk grid (positions 0, chunk, 2·chunk, ...)
    int64_t step_prefill_tokens = 512; // prefill tokens per step beyond the first chunk
    int64_t snapshot_interval = 512;   // snapshots every this many prompt tokens (multiple of chunk)
    bool log = true;                   // one line per finished request on stderr
  };
  Scheduler(Model& model, const Tokenizer* tok, Options opt, Metrics& metrics);
  ~Scheduler();

  // Queues a request; false when the queue is full.
  bool submit(const std::shared_ptr<RequestState>& r);
  // Cancels everything running or queued and joins the worker.
  void stop();
  static double now();

 private:
  struct Seq;
  void loop();
  bool admit();                 // moves queued requests into free slots; true if any
  void step();
  void finish(Seq& s, const char* reason);
  void on_logits(Seq& s, const float* logits);  // sample, emit, maybe finish
  void emit(Seq& s, TokenOut t);

  Model& model_;
  const Tokenizer* tok_;
  Options opt_;
  Metrics& metrics_;
  CacheSlots slots_;
  PrefixCache prefix_;
  std::vector<std::unique_ptr<Seq>> running_;
  std::mutex qm_;
  std::condition_variable qcv_;
  std::deque<std::shared_ptr<RequestState>> queue_;
  std::atomic<bool> stop_{false};
  std::thread worker_;
  std::vector<float> logits_, work_;
};

}  // namespace hyb::serve
