#include <random>

#include "core/dtype.h"
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
// A BF16 cache: the kernel reading bf16 K/V must equal the f32 kernel on the same (rounded) values, and the
// reference reading bf16.
void check_bf16(int64_t T, int64_t past, int64_t H, int64_t Hkv, int64_t hd) {
  std::mt19937 rng(7);
  std::normal_distribution<float> n01;
  const int64_t cap = past + T + 3;
  std::vector<float> q(size_t(T * H * hd)), k(size_t(Hkv * cap * hd)), v(k.size());
  std::vector<uint16_t> kb(k.size()), vb(k.size());
  for (auto& x : q) x = 2.f * n01(rng);
  for (size_t i = 0; i < k.size(); ++i) {
    kb[i] = f32_to_bf16(n01(rng));
    vb[i] = f32_to_bf16(n01(rng));
    k[i] = bf16_to_f32(kb[i]);
    v[i] = bf16_to_f32(vb[i]);
  }
  std::vector<float> o_bf16(q.size()), o_f32(q.size()), o_ref(q.size());
  AttentionArgs a{q.data(), H * hd, k.data(), v.data(), cap * hd, o_f32.data(), H * hd, T, H, Hkv, hd, past, 0.25f};
  attention_causal(a);
  a.out = o_bf16.data();
  a.k = a.v = nullptr;  // must not be read
  a.kb = kb.data();
  a.vb = vb.data();
  attention_causal(a);
  a.out = o_ref.data();
  attention_causal_reference(a);
  EXPECT_LT(test::max_abs_diff(o_bf16, o_f32), 1e-6) << "T=" << T << " past=" << past;
  EXPECT_LT(test::max_abs_diff(o_bf16, o_ref), 1e-5) << "T=" << T << " past=" << past;
}
}  // namespace

TEST(Attention, Bf16CacheDecodeAndPrefill) {
  check_bf16(1, 1500, 4, 2, 64);   // split-K over several KV blocks
  check_bf16(3, 40, 2, 1, 16);     // short continuation
  check_bf16(130, 300, 4, 2, 32);  // tiled prefill with a cache behind
}

TEST(Attention, TiledMatchesReference) { check(300, 0, 4, 4, 16); }
TEST(Attention, WithPastAndGqa) { check(77, 150, 6, 2, 8); }
TEST(Attention, SingleTokenDecode) { check(1, 511, 4, 1, 32); }
// Long caches: split-K decode over many KV blocks, and prefill tiles past the first key tile with a cache behind.
TEST(Attention, LongContextDecodeSplitK) { check(1, 3000, 4, 2, 64); }
TEST(Attention, ShortContinuationUsesSplitK) { check(3, 700, 2, 2, 16); }
TEST(Attention, PrefillTilesWithLongPast) { check(130, 600, 2, 1, 32); }
