// The communicator's collectives and the ZeRO-1 helpers, checked against values computed here from each rank's
// known inputs. Run as one process (single-process backend) and under `mpirun -np 2` (the MPI backend; ctest
// does both). Small bucket sizes make every large collective a sequence of many messages, as for real gradients.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "dist/communicator.h"
#include "train/adamw.h"
#include "train/zero_shard.h"

namespace hyb {
namespace {

// Element i of rank q's buffer.
float value(int q, size_t i) { return float(q + 1) * 0.5f + float(i % 97) * 0.25f; }

TEST(Communicator, ReduceScatterAndAllgatherInBuckets) {
  Communicator& c = world();
  const int N = c.size(), r = c.rank();
  for (size_t bucket : {size_t(7), size_t(64), size_t(1) << 22}) {
    c.set_bucket_elems(bucket);
    const size_t block = 1000;
    std::vector<float> buf(N * block);
    for (size_t i = 0; i < buf.size(); ++i) buf[i] = value(r, i);
    c.reduce_scatter_sum(buf.data(), block);
    for (size_t j = 0; j < block; ++j) {
      const size_t i = size_t(r) * block + j;
      float want = 0;
      for (int q = 0; q < N; ++q) want += value(q, i);  // exact: small multiples of 0.25
      ASSERT_EQ(buf[i], want) << "bucket " << bucket << " element " << i;
    }
    std::vector<double> d(N * block);
    for (size_t j = 0; j < block; ++j) d[size_t(r) * block + j] = double(r) * 1e6 + double(j);
    c.allgather(d.data(), block);
    for (int q = 0; q < N; ++q)
      for (size_t j = 0; j < block; ++j) ASSERT_EQ(d[size_t(q) * block + j], double(q) * 1e6 + double(j));
  }
  c.set_bucket_elems(size_t(1) << 22);
}

TEST(Communicator, AllreduceBroadcastBarrier) {
  Communicator& c = world();
  const int N = c.size(), r = c.rank();
  // Under mpirun the MPI backend must be the one in use (a single-process fallback would pass the rest alone).
  if (const char* n = std::getenv("OMPI_COMM_WORLD_SIZE")) {
    EXPECT_EQ(N, std::atoi(n)) << c.backend();
  }
  c.set_bucket_elems(5);
  std::vector<double> x(23);
  for (size_t i = 0; i < x.size(); ++i) x[i] = double(r + 1) * double(i);
  c.allreduce_sum(x.data(), x.size());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(x[i], double(N * (N + 1) / 2) * double(i));
  std::vector<float> f(11, float(r));
  c.allreduce_sum(f.data(), f.size());
  for (float v : f) ASSERT_EQ(v, float(N * (N - 1) / 2));
  c.set_bucket_elems(size_t(1) << 22);
  char msg[16] = {};
  if (r == N - 1) std::strcpy(msg, "from the last");
  c.broadcast(msg, sizeof msg, N - 1);
  EXPECT_STREQ(msg, "from the last");
  c.barrier();
  EXPECT_GE(c.comm_seconds(), 0.0);
  EXPECT_GE(c.local_size(), 1);
}

TEST(ZeroShard, LayoutCoversTheArenaInNormBlocks) {
  for (int ranks : {1, 2, 3, 8})
    for (size_t total : {size_t(1), size_t(65536), size_t(65537), size_t(1000003)}) {
      size_t covered = 0;
      for (int r = 0; r < ranks; ++r) {
        const ShardLayout s = ShardLayout::make(total, r, ranks);
        EXPECT_EQ(s.block % kNormBlock, 0u);
        EXPECT_GE(s.padded(), total);
        EXPECT_EQ(s.lo(), std::min(total, covered));
        covered = std::max(covered, s.hi());
      }
      EXPECT_EQ(covered, total);
    }
}

// The norm from shards has the bits of the one-process norm of the whole gradient, for any number of ranks.
TEST(ZeroShard, ShardedNormHasTheOneProcessBits) {
  Communicator& c = world();
  const size_t total = 3 * kNormBlock + 12345;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> full(total);
  for (float& v : full) v = nd(rng);
  std::vector<double> part((total + kNormBlock - 1) / kNormBlock);
  block_sumsq(full.data(), total, part.data());
  double ss = 0;
  for (double p : part) ss += p;
  const double want = std::sqrt(ss);

  const ShardLayout s = ShardLayout::make(total, c.rank(), c.size());
  std::vector<float> g(s.padded(), 0.f);
  std::copy(full.begin() + long(s.lo()), full.begin() + long(s.hi()), g.begin() + long(s.lo()));
  EXPECT_EQ(sharded_grad_norm(g.data(), s, c), want);
  // Clipping scales only the rank's own elements, by the factor clip_grad_norm uses.
  const double norm = sharded_clip_grad_norm(g.data(), s, c, 1.0);
  EXPECT_EQ(norm, want);
  const float coef = float(1.0 / (want + 1e-6));
  for (size_t i = s.lo(); i < s.hi(); ++i) ASSERT_EQ(g[i], full[i] * coef);

  // The moments gathered from shards are the whole arena.
  std::vector<float> mine(full.begin() + long(s.lo()), full.begin() + long(s.hi())), out(s.padded(), -1.f);
  gather_shards(mine.data(), s, c, out.data());
  for (size_t i = 0; i < total; ++i) ASSERT_EQ(out[i], full[i]) << i;
  for (size_t i = total; i < s.padded(); ++i) ASSERT_EQ(out[i], 0.f);
}

}  // namespace
}  // namespace hyb
