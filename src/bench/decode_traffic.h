// Memory traffic of one decoded token: the bytes a decode step must move, the denominator of a bandwidth roofline.
#pragma once
#include <cstdint>

#include "model/cache.h"
#include "model/weights.h"

namespace hyb {

struct DecodeTraffic {
  double weights = 0;    // every linear weight (lm_head included), one embedding row, all vector parameters
  double kv = 0;         // attention K and V read, averaged over the timed steps
  double recurrent = 0;  // GDN recurrent state and conv state, each read and written once
  double total() const { return weights + kv + recurrent; }
};

// Per token for `tokens` decode steps that start after `context` cached tokens (step i attends context + i + 1
// positions, so the K/V term uses the mean, context + (tokens + 1) / 2).
DecodeTraffic decode_traffic(const Weights& w, int64_t context, int64_t tokens, KvDtype kv = KvDtype::F32);

}  // namespace hyb
