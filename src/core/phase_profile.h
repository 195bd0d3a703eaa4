// Opt-in breakdown of a training step: env HYBRID_PROFILE=1 times phases by wall clock, HYBRID_PROFILE=cpu by the
// process's CPU time (all threads), which stays meaningful on a machine shared with other jobs. Disabled, a scope
// costs one branch on a cached flag.
#pragma once
#include <string>
#include <utility>
#include <vector>


namespace hyb {

class PhaseProfile {
 public:
  static PhaseProfile& get();
  bool enabled() const { return enabled_; }
  void add(const char* phase, double seconds);
  double now() const;  // seconds on the chosen clock
  // Prints the accumulated phases to stderr (one line each; scopes nest, so times overlap) and clears them.
  void report(const char* title);

  class Scope {
   public:
    explicit Scope(const char* phase) : phase_(PhaseProfile::get().enabled() ? phase : nullptr) {
      if (phase_) t0_ = PhaseProfile::get().now();
    }
    ~Scope() { stop(); }
    void stop() {
      if (phase_) PhaseProfile::get().add(phase_, PhaseProfile::get().now() - t0_);
      phase_ = nullptr;
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    const char* phase_;
    double t0_ = 0;
  };

 private:
  PhaseProfile();
  bool enabled_ = false, cpu_ = false;
  std::vector<std::pair<std::string, double>> phases_;  // first-seen order
};

}  // namespace hyb
