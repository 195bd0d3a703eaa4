// Server metrics in the Prometheus text format (GET /metrics): counters, gauges and latency histograms.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace hyb::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}
  void observe(double v);
  std::string render(const std::string& name, const std::string& help) const;

 private:
  mutable std::mutex m_;
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
  uint64_t n_ = 0;
};

struct Metrics {
  std::atomic<int64_t> running{0}, waiting{0};
  std::atomic<int64_t> prompt_tokens{0}, cached_tokens{0}, generated_tokens{0}, reprefilled_tokens{0};
  std::atomic<int64_t> cache_bytes{0}, cache_entries{0}, slots_free{0}, slots_total{0};
  Histogram ttft{{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}};
  Histogram itl{{0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28}};
  Histogram e2e{{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}};

  void count_request(int status);
  std::string render() const;

 private:
  mutable std::mutex m_;
  std::map<int, uint64_t> by_status_;
};

}  // namespace hyb::serve
