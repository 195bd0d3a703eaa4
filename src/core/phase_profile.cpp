#include "core/phase_profile.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace hyb {

PhaseProfile::PhaseProfile() {
  const char* e = std::getenv("HYBRID_PROFILE");
  enabled_ = e && *e && std::strcmp(e, "0") != 0;
  cpu_ = enabled_ && std::strcmp(e, "cpu") == 0;
}

double PhaseProfile::now() const {
  timespec ts{};
  clock_gettime(cpu_ ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

PhaseProfile& PhaseProfile::get() {
  static PhaseProfile p;
  return p;
}

void PhaseProfile::add(const char* phase, double seconds) {
  for (auto& [name, s] : phases_)
    if (name == phase) {
      s += seconds;
      return;
    }
  phases_.emplace_back(phase, seconds);
}

void PhaseProfile::report(const char* title) {
  if (!enabled_ || phases_.empty()) return;
  std::fprintf(stderr, "[profile] %s (%s time)\n", title, cpu_ ? "process CPU" : "wall");
  for (const auto& [name, s] : phases_) std::fprintf(stderr, "[profile]   %-22s %8.1f ms\n", name.c_str(), s * 1e3);
  phases_.clear();
}

}  // namespace hyb
