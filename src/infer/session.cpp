#include "infer/session.h"

#include <algorithm>

#include "core/error.h"

namespace hyb {

Session::Session(Model& m, int64_t prefill_chunk)
    : m_(m), cache_(m.new_cache()), chunk_(prefill_chunk), logits_(size_t(m.config().vocab_size)) {}

const std::vector<float>& Session::prefill(const std::vector<int32_t>& ids) {
  HYB_ASSERT(!ids.empty());
  for (size_t i = 0; i < ids.size(); i += size_t(chunk_)) {
    const int64_t n = std::min<int64_t>(chunk_, int64_t(ids.size() - i));
    m_.forward(ids.data() + i, n, cache_, logits_.data(), /*last_only=*/true);
  }
  return logits_;
}

const std::vector<float>& Session::step(int32_t id) {
  m_.forward(&id, 1, cache_, logits_.data(), /*last_only=*/true);
  return logits_;
}

}  // namespace hyb
