// Many sequences' caches under one memory budget: what a server's scheduler allocates from. A slot is a Cache
// (K/V of the attention layers, conv + recurrent state of the GDN layers); slots can be forked (copy a
// sequence), reset, and grown only while the budget allows.
#pragma once
#include <cstddef>
#include <vector>

#include "model/cache.h"

namespace hyb {

class CacheSlots {
 public:
  // budget_bytes 0 = no limit. Slots hold no K/V until reserved.
  CacheSlots(const ModelConfig& cfg, int slots, size_t budget_bytes, KvDtype kv = KvDtype::F32);

  int size() const { return int(caches_.size()); }
  int free_count() const;
  int acquire();                 // a reset free slot, or -1 when none is free
  void release(int slot);        // back to the free list (reset)
  Cache& at(int slot);
  bool in_use(int slot) const;
  void reset(int slot);
  void fork(int src, int dst);   // dst becomes an exact copy of src (both in use)
  // Makes room for `tokens` positions in the slot; false (nothing changed) when that would exceed the budget.
  bool reserve(int slot, int64_t tokens);

  size_t bytes() const;          // held by all slots now
  size_t budget() const { return budget_; }
  // The longest sequence every one of `slots` slots can hold at once under `budget_bytes`.
  static int64_t tokens_per_slot(const ModelConfig& cfg, int slots, size_t budget_bytes, KvDtype kv = KvDtype::F32);

 private:
  void check(int slot) const;
  const ModelConfig* cfg_;
  size_t budget_;
  KvDtype kv_;
  std::vector<Cache> caches_;
  std::vector<bool> used_;
};

}  // namespace hyb
