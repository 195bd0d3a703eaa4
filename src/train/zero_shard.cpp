#include "train/zero_shard.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "train/adamw.h"

namespace hyb {

ShardLayout ShardLayout::make(size_t total, int rank, int ranks) {
  HYB_ASSERT(ranks >= 1 && rank >= 0 && rank < ranks);
  ShardLayout s;
  s.total = total;
  s.rank = rank;
  s.ranks = ranks;
  const size_t per = (total + size_t(ranks) - 1) / size_t(ranks);
  s.block = std::max<size_t>(1, (per + kNormBlock - 1) / kNormBlock) * kNormBlock;
  return s;
}

double sharded_grad_norm(const float* g, const ShardLayout& s, Communicator& comm) {
  const size_t nb = s.block / kNormBlock;
  std::vector<double> part(nb * size_t(s.ranks), 0.0);
  // Elements past `total` are padding (zero): only the rank's real elements are summed.
  block_sumsq(g + s.lo(), s.hi() - s.lo(), part.data() + size_t(s.rank) * nb);
  comm.allgather(part.data(), nb);
  double ss = 0;
  for (double x : part) ss += x;  // block order, as global_grad_norm
  return std::sqrt(ss);
}

double sharded_clip_grad_norm(float* g, const ShardLayout& s, Communicator& comm, double max_norm) {
  const double norm = sharded_grad_norm(g, s, comm);
  if (max_norm <= 0) return norm;
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1) {
    const float c = float(coef);
    float* p = g + s.lo();
    const int64_t n = int64_t(s.hi() - s.lo());
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) p[i] *= c;
  }
  return norm;
}

void gather_shards(const float* shard, const ShardLayout& s, Communicator& comm, float* full) {
  float* mine = full + size_t(s.rank) * s.block;
  const size_t n = s.hi() - s.lo();
  std::memcpy(mine, shard, n * sizeof(float));
  std::memset(mine + n, 0, (s.block - n) * sizeof(float));
  comm.allgather(full, s.block);
}

}  // namespace hyb
