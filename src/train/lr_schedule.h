// Learning-rate schedules of OLMo-style pretraining (spec §7): linear warmup, then cosine decay to a floor,
// WSD (warmup–stable–decay: constant at the peak, then a linear decay over the final steps), linear decay, or
// constant. Steps count updates from 1: lr(1) = peak / warmup, lr(warmup) = peak.
#pragma once
#include <cstdint>
#include <string>

namespace hyb {

enum class LrDecay { Cosine, WSD, Linear, Constant };
LrDecay parse_lr_decay(const std::string& s);  // "cosine" | "wsd" | "linear" | "constant"
const char* lr_decay_name(LrDecay d);

struct LrSchedule {
  LrDecay decay = LrDecay::Cosine;
  double peak = 3e-4;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double final_ratio = 0.1;   // floor = final_ratio · peak at total_steps (cosine, linear, WSD)
  int64_t decay_steps = 0;    // WSD only: length of the final decay (0 = 20% of the post-warmup steps)

  double lr(int64_t step) const;
  void validate() const;  // fail()s on inconsistent settings, naming the field
};

}  // namespace hyb
