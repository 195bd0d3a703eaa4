#include <random>

#include "kernels/attention.h"
#include "test_util.h"

using namespace hyb;

namespace {
void check(int64_t T, int64_t past, int64_t H, int64_t Hkv, int64_t hd) {
  std::mt19937 rng(42);
  std::normal_distribution<float> n01;
  const int64_t cap = past + T + 5;
  std::vector<float> q(size_t(T * H * hd)), k(size_t(Hkv * cap * hd)), v(k.size());
  for (auto& x : q) x = 2.f * n01(rng);
  for (auto& x : k) x = n01(rng);
  for (auto& x : v) x = n01(rng);
  std::vector<float> o1(q.size()), o2(q.size());
  AttentionArgs a{q.data(), H * hd, k.data(), v.data(), cap * hd, o1.data(), H * hd, T, H, Hkv, hd, past, 0.25f};
  attention_causal(a);
  a.out = o2.data();
  attention_causal_reference(a);
  EXPECT_LT(test::max_abs_diff(o1, o2), 1e-5) << "T=" << T << " past=" << past;
}
}  // namespace

TEST(Attention, TiledMatchesReference) { check(300, 0, 4, 4, 16); }
TEST(Attention, WithPastAndGqa) { check(77, 150, 6, 2, 8); }
TEST(Attention, SingleTokenDecode) { check(1, 511, 4, 1, 32); }
// Long caches: split-K decode over many KV blocks, and prefill tiles past the first key tile with a cache behind.
TEST(Attention, LongContextDecodeSplitK) { check(1, 3000, 4, 2, 64); }
TEST(Attention, ShortContinuationUsesSplitK) { check(3, 700, 2, 2, 16); }
TEST(Attention, PrefillTilesWithLongPast) { check(130, 600, 2, 1, 32); }
