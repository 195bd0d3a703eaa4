#include "model/cache_slots.h"

#include <algorithm>

#include "core/error.h"

namespace hyb {

CacheSlots::CacheSlots(const ModelConfig& cfg, int slots, size_t budget_bytes, KvDtype kv)
    : cfg_(&cfg), budget_(budget_bytes), kv_(kv) {
  if (slots <= 0) fail("cache slots: need at least one slot (got ", slots, ")");
  if (budget_ && size_t(slots) * Cache::fixed_bytes(cfg) > budget_)
    fail("cache slots: ", slots, " slots need ", size_t(slots) * Cache::fixed_bytes(cfg),
         " bytes of GDN state alone, over the budget of ", budget_, " bytes");
  caches_.reserve(size_t(slots));
  for (int i = 0; i < slots; ++i) caches_.emplace_back(cfg, kv);
  used_.assign(size_t(slots), false);
}

void CacheSlots::check(int slot) const {
  if (slot < 0 || slot >= size()) fail("cache slots: slot ", slot, " out of range [0, ", size(), ")");
}

int CacheSlots::free_count() const { return int(std::count(used_.begin(), used_.end(), false)); }

int CacheSlots::acquire() {
  for (int i = 0; i < size(); ++i)
    if (!used_[size_t(i)]) {
      used_[size_t(i)] = true;
      caches_[size_t(i)].reset();
      return i;
    }
  return -1;
}

void CacheSlots::release(int slot) {
  check(slot);
  caches_[size_t(slot)].reset();
  used_[size_t(slot)] = false;
}

Cache& CacheSlots::at(int slot) {
  check(slot);
  return caches_[size_t(slot)];
}

bool CacheSlots::in_use(int slot) const {
  check(slot);
  return used_[size_t(slot)];
}

void CacheSlots::reset(int slot) { at(slot).reset(); }

void CacheSlots::fork(int src, int dst) {
  check(src);
  check(dst);
  if (src == dst) return;
  if (!reserve(dst, at(src).n_past())) fail("cache slots: no budget to fork slot ", src, " into slot ", dst);
  caches_[size_t(dst)].assign(caches_[size_t(src)]);
  used_[size_t(dst)] = true;
}

bool CacheSlots::reserve(int slot, int64_t tokens) {
  Cache& c = at(slot);
  if (tokens <= c.capacity()) return true;
  const size_t now = bytes(), mine = c.bytes();
  auto fits = [&](int64_t cap) { return !budget_ || now - mine + Cache::bytes_for(*cfg_, cap, kv_) <= budget_; };
  const int64_t grown = std::max<int64_t>({tokens, 2 * c.capacity(), 64});
  if (fits(grown)) c.reserve(grown, true);
  else if (fits(tokens)) c.reserve(tokens, true);
  else return false;
  return true;
}

size_t CacheSlots::bytes() const {
  size_t n = 0;
  for (const Cache& c : caches_) n += c.bytes();
  return n;
}

int64_t CacheSlots::tokens_per_slot(const ModelConfig& cfg, int slots, size_t budget_bytes, KvDtype kv) {
  const size_t fixed = size_t(slots) * Cache::fixed_bytes(cfg), per = size_t(slots) * Cache::bytes_per_token(cfg, kv);
  if (budget_bytes < fixed) return 0;
  if (per == 0) return INT64_MAX;
  return int64_t((budget_bytes - fixed) / per);
}

}  // namespace hyb
