#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace hyb {

LrDecay parse_lr_decay(const std::string& s) {
  if (s == "cosine") return LrDecay::Cosine;
  if (s == "wsd") return LrDecay::WSD;
  if (s == "linear") return LrDecay::Linear;
  if (s == "constant") return LrDecay::Constant;
  fail("lr schedule: '", s, "' is not one of cosine, wsd, linear, constant");
}

const char* lr_decay_name(LrDecay d) {
  switch (d) {
    case LrDecay::Cosine: return "cosine";
    case LrDecay::WSD: return "wsd";
    case LrDecay::Linear: return "linear";
    case LrDecay::Constant: return "constant";
  }
  return "?";
}

void LrSchedule::validate() const {
  if (!(peak > 0) || !std::isfinite(peak)) fail("lr: must be a positive number, got ", peak);
  if (total_steps < 1) fail("steps: must be at least 1, got ", total_steps);
  if (warmup_steps < 0 || warmup_steps > total_steps)
    fail("warmup_steps: must lie in [0, steps=", total_steps, "], got ", warmup_steps);
  if (final_ratio < 0 || final_ratio > 1) fail("lr final_ratio: must lie in [0, 1], got ", final_ratio);
  if (decay_steps < 0 || decay_steps > total_steps - warmup_steps)
    fail("decay_steps: must lie in [0, steps − warmup_steps = ", total_steps - warmup_steps, "], got ", decay_steps);
}

double LrSchedule::lr(int64_t step) const {
  step = std::max<int64_t>(step, 1);
  if (step <= warmup_steps) return peak * double(step) / double(warmup_steps);
  const double floor = peak * final_ratio;
  const int64_t span = total_steps - warmup_steps;  // steps after warmup
  if (span <= 0 || decay == LrDecay::Constant) return peak;
  const double x = std::min(1.0, double(step - warmup_steps) / double(span));  // progress through the decay
  switch (decay) {
    case LrDecay::Cosine: return floor + (peak - floor) * 0.5 * (1.0 + std::cos(M_PI * x));
    case LrDecay::Linear: return peak + (floor - peak) * x;
    case LrDecay::WSD: {
      const int64_t d = decay_steps > 0 ? decay_steps : std::max<int64_t>(1, span / 5);
      const int64_t start = total_steps - d;  // last step at the peak
      if (step <= start) return peak;
      return peak + (floor - peak) * std::min(1.0, double(step - start) / double(d));
    }
    case LrDecay::Constant: break;
  }
  return peak;
}

}  // namespace hyb
