// ZeRO-1 over a Communicator: the flat parameter arena (ParamTensors::data()) cut into one equal block per rank.
// Rank r reduces (reduce-scatter), clips and AdamW-updates only the elements of block r, and keeps AdamW moments
// for those only; an all-gather then gives every rank the whole updated model. Blocks are a multiple of
// kNormBlock elements, so the gradient norm — summed from per-block parts in block order — has the same bits
// whatever the number of ranks, and a 1-rank layout is exactly the single-process trainer.
#pragma once
#include <algorithm>
#include <cstddef>

#include "dist/communicator.h"

namespace hyb {

struct ShardLayout {
  size_t total = 0;  // parameters (ParamTensors::size())
  size_t block = 0;  // elements per rank: ceil(total / ranks) rounded up to kNormBlock
  int rank = 0, ranks = 1;

  static ShardLayout make(size_t total, int rank, int ranks);
  size_t padded() const { return block * size_t(ranks); }  // arena capacity the collectives need
  size_t lo() const { return std::min(total, size_t(rank) * block); }
  size_t hi() const { return std::min(total, size_t(rank + 1) * block); }
};

// The global L2 norm of a gradient of which this rank holds the reduced block `s.rank` (g is the padded arena).
double sharded_grad_norm(const float* g, const ShardLayout& s, Communicator& comm);
// clip_grad_norm on the rank's block: scales g[lo, hi) by min(1, max_norm / (norm + 1e-6)); returns the norm.
double sharded_clip_grad_norm(float* g, const ShardLayout& s, Communicator& comm, double max_norm);
// Every rank's values of its own elements [lo, hi) (held in shard[0, hi − lo)) gathered into full[padded()].
void gather_shards(const float* shard, const ShardLayout& s, Communicator& comm, float* full);

}  // namespace hyb
