// The model core over batches of segments: every sequence in a mixed batch (prefill chunks of 1-300 tokens and
// single-token decode rows, at different positions) gets bit-identical logits, K/V and GDN states to running it
// alone, for F32, BF16 and both quantized formats; cache snapshots restore exactly; slots respect their budget.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "core/error.h"
#include "model/cache_slots.h"
#include "model/init.h"
#include "model/model.h"
#include "model/quantize.h"
#include "test_util.h"

using namespace hyb;
using namespace hyb::test;

namespace {

// A config with GQA, more GDN value heads than key heads, RoPE, and 2 attention layers of 6.
ModelConfig variant_config() {
  nlohmann::json j = {{"model_type", "olmo_hybrid"}, {"vocab_size", 211}, {"hidden_size", 64},
                      {"intermediate_size", 96}, {"num_hidden_layers", 6}, {"num_attention_heads", 4},
                      {"num_key_value_heads", 2}, {"linear_num_key_heads", 2}, {"linear_num_value_heads", 4},
                      {"linear_key_head_dim", 16}, {"linear_value_head_dim", 16}, {"rope_theta", 10000.0},
                      {"max_position_embeddings", 4096}, {"eos_token_id", 1}, {"pad_token_id", 0},
                      {"layer_types", {"linear_attention", "linear_attention", "full_attention", "linear_attention",
                                       "linear_attention", "full_attention"}}};
  return ModelConfig::from_json(j, "test config");
}

std::string variant_dir() {
  static TempDir dir;
  static bool made = false;
  if (!made) {
    InitOptions o;
    o.seed = 11;
    init_checkpoint(variant_config(), dir.str(), o);
    made = true;
  }
  return dir.str();
}

struct Seq {
  std::vector<int32_t> ids;  // prefix then the segment under test
  int64_t prefix = 0;
};

std::vector<Seq> make_seqs(int64_t V, bool long_adjacent = false) {
  // 8 sequences: decode rows (1 token after a context), short chunks (row-wise path) and long prefills; with
  // long_adjacent the long ones come together, as the server's prefill chunks do (they may then share a GEMM).
  const int64_t prefix_a[8] = {0, 37, 5, 130, 0, 64, 200, 9}, seg_a[8] = {300, 1, 1, 65, 7, 1, 129, 8};
  const int64_t prefix_b[8] = {37, 5, 64, 0, 130, 200, 0, 9}, seg_b[8] = {1, 1, 1, 300, 65, 129, 7, 8};
  const int64_t* prefix = long_adjacent ? prefix_b : prefix_a;
  const int64_t* seg = long_adjacent ? seg_b : seg_a;
  std::mt19937 rng(3);
  std::vector<Seq> s(8);
  for (int i = 0; i < 8; ++i) {
    s[i].prefix = prefix[i];
    s[i].ids.resize(size_t(prefix[i] + seg[i]));
    for (auto& t : s[i].ids) t = int32_t(rng() % uint32_t(V));
  }
  return s;
}

void expect_same_cache(const Cache& a, const Cache& b, const ModelConfig& c, const std::string& what) {
  ASSERT_EQ(a.n_past(), b.n_past()) << what;
  const int64_t Hkv = c.num_key_value_heads, hd = c.head_dim;
  for (size_t l = 0; l < a.layers.size(); ++l) {
    const LayerCache &x = a.layers[l], &y = b.layers[l];
    if (x.kind == LayerKind::Attention) {
      ASSERT_EQ(x.kv, y.kv) << what;
      const bool bf16 = x.kv == KvDtype::BF16;
      const size_t es = bf16 ? 2 : 4;
      auto raw = [](const auto& buf) { return reinterpret_cast<const char*>(buf.data()); };
      const char *xk = bf16 ? raw(x.kb) : raw(x.k), *yk = bf16 ? raw(y.kb) : raw(y.k);
      const char *xv = bf16 ? raw(x.vb) : raw(x.v), *yv = bf16 ? raw(y.vb) : raw(y.v);
      for (int64_t h = 0; h < Hkv; ++h)
        ASSERT_EQ(0, std::memcmp(xk + size_t(h * x.capacity * hd) * es, yk + size_t(h * y.capacity * hd) * es,
                                 size_t(a.n_past() * hd) * es)) << what << " K layer " << l;
      for (int64_t h = 0; h < Hkv; ++h)
        ASSERT_EQ(0, std::memcmp(xv + size_t(h * x.capacity * hd) * es, yv + size_t(h * y.capacity * hd) * es,
                                 size_t(a.n_past() * hd) * es)) << what << " V layer " << l;
    } else {
      ASSERT_EQ(x.conv, y.conv) << what << " conv state layer " << l;
      ASSERT_EQ(x.state, y.state) << what << " recurrent state layer " << l;
    }
  }
}

// Runs the 8 sequences alone and as two mixed batches (all prefixes, then all segments under test).
void check_batch_invariance(Model& m, const std::string& what, bool long_adjacent = false) {
  const ModelConfig& c = m.config();
  const int64_t V = c.vocab_size;
  const auto seqs = make_seqs(V, long_adjacent);
  const size_t S = seqs.size();
  std::vector<Cache> alone, batched;
  std::vector<std::vector<float>> want(S);
  for (size_t i = 0; i < S; ++i) {
    alone.push_back(m.new_cache());
    batched.push_back(m.new_cache());
    const Seq& s = seqs[i];
    std::vector<float> tmp(static_cast<size_t>(V));
    if (s.prefix) m.forward(s.ids.data(), s.prefix, alone[i], tmp.data(), true);
    const int64_t n = int64_t(s.ids.size()) - s.prefix;
    want[i].resize(size_t(n * V));
    m.forward(s.ids.data() + s.prefix, n, alone[i], want[i].data());
  }
  std::vector<Segment> pre, seg;
  for (size_t i = 0; i < S; ++i) {
    const Seq& s = seqs[i];
    if (s.prefix) pre.push_back({s.ids.data(), s.prefix, 0, &batched[i], LogitRows::Last});
    seg.push_back({s.ids.data() + s.prefix, int64_t(s.ids.size()) - s.prefix, s.prefix, &batched[i], LogitRows::All});
  }
  std::vector<float> junk(size_t(Model::logit_rows(pre) * V));
  m.forward(pre, junk.data());
  std::vector<float> got(size_t(Model::logit_rows(seg) * V));
  m.forward(seg, got.data());
  int64_t r = 0;
  for (size_t i = 0; i < S; ++i) {
    const int64_t n = seg[i].n;
    ASSERT_EQ(0, std::memcmp(got.data() + r * V, want[i].data(), size_t(n * V) * 4))
        << what << ": sequence " << i << " (" << n << " tokens after " << seqs[i].prefix
        << ") differs from running alone; max |d| "
        << max_abs_diff(got.data() + r * V, want[i].data(), size_t(n * V));
    expect_same_cache(batched[i], alone[i], c, what + " sequence " + std::to_string(i));
    r += n;
  }
}

TEST(BatchInvariance, GoldenConfigF32) {
  if (!have_golden()) GTEST_SKIP() << "golden data not found";
  Model m(Weights::load(golden_dir(), WeightDType::F32));
  check_batch_invariance(m, "golden f32");
}

TEST(BatchInvariance, GqaRopeMoreValueHeadsF32) {
  Model m(Weights::load(variant_dir(), WeightDType::F32));
  check_batch_invariance(m, "variant f32");
}

TEST(BatchInvariance, Bf16ExactAndFast) {
  Model m(Weights::load(variant_dir(), WeightDType::BF16));
  for (Compute mode : {Compute::Exact, Compute::Fast}) {
    ComputeScope scope(mode);
    check_batch_invariance(m, std::string("variant bf16 ") + compute_name(mode));
    // Adjacent prompt chunks: in fast mode they share one GEMM (plan_row_groups' stack_long), still bit-identical.
    check_batch_invariance(m, std::string("variant bf16 adjacent long segments ") + compute_name(mode), true);
  }
}

TEST(BatchInvariance, Bf16KvCache) {
  Model m(Weights::load(variant_dir(), WeightDType::F32));
  m.set_kv_dtype(KvDtype::BF16);
  check_batch_invariance(m, "F32 weights, BF16 KV cache");
}

TEST(BatchInvariance, QuantizedQ8AndQ4) {
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    Weights w = Weights::load(variant_dir(), WeightDType::F32);
    quantize_weights(w, t);
    Model m(std::move(w));
    for (Compute mode : {Compute::Exact, Compute::Fast}) {  // fast: the int8 GEMM for prompt-sized rows too
      ComputeScope scope(mode);
      check_batch_invariance(m, std::string("variant ") + dtype_name(t) + " " + compute_name(mode));
    }
  }
}

TEST(BatchInvariance, BatchedDecodeMatchesOneByOne) {
  // 8 sequences decoding in lock step, 6 steps, against each decoded alone (fast compute: the server's default).
  ComputeScope scope(Compute::Fast);
  Model m(Weights::load(variant_dir(), WeightDType::BF16));
  const int64_t V = m.config().vocab_size;
  std::vector<int32_t> ctx(40);
  for (size_t i = 0; i < ctx.size(); ++i) ctx[i] = int32_t((i * 13 + 1) % size_t(V));
  std::vector<Cache> a, b;
  std::vector<int32_t> tok(8);
  for (int i = 0; i < 8; ++i) {
    a.push_back(m.new_cache());
    b.push_back(m.new_cache());
    std::vector<float> l(static_cast<size_t>(V));
    m.forward(ctx.data() + i, 10 + 3 * i, a.back(), l.data(), true);  // different positions
    m.forward(ctx.data() + i, 10 + 3 * i, b.back(), l.data(), true);
    tok[size_t(i)] = int32_t(i + 2);
  }
  for (int step = 0; step < 6; ++step) {
    std::vector<Segment> segs;
    for (int i = 0; i < 8; ++i) segs.push_back({&tok[size_t(i)], 1, b[size_t(i)].n_past(), &b[size_t(i)]});
    std::vector<float> got(size_t(8 * V)), one(static_cast<size_t>(V));
    m.forward(segs, got.data());
    for (int i = 0; i < 8; ++i) {
      m.forward(&tok[size_t(i)], 1, a[size_t(i)], one.data(), true);
      ASSERT_EQ(0, std::memcmp(one.data(), got.data() + i * V, size_t(V) * 4)) << "step " << step << " seq " << i;
    }
    for (int i = 0; i < 8; ++i) tok[size_t(i)] = int32_t((tok[size_t(i)] * 7 + step) % V);
  }
}

TEST(CacheSnapshot, RestoreContinuesExactly) {
  Model m(Weights::load(variant_dir(), WeightDType::F32));
  const int64_t V = m.config().vocab_size;
  std::vector<int32_t> ids(150);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t((i * 31 + 5) % size_t(V));
  Cache c = m.new_cache();
  c.reserve(1000);
  std::vector<float> l(size_t(120 * V)), want(size_t(50 * V)), got(size_t(50 * V));
  m.forward(ids.data(), 100, c, l.data());
  const Cache snap = c.snapshot();
  EXPECT_EQ(snap.n_past(), 100);
  EXPECT_EQ(snap.bytes(), Cache::bytes_for(m.config(), 100));  // trimmed to the tokens it holds
  EXPECT_LT(snap.bytes(), c.bytes());
  m.forward(ids.data() + 100, 50, c, want.data());
  // Restored into a cache that already held something else, and into a fresh one.
  Cache other = m.new_cache();
  m.forward(ids.data() + 7, 120, other, l.data());
  other.assign(snap);
  m.forward(ids.data() + 100, 50, other, got.data());
  EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * 4));
  Cache fresh = m.new_cache();
  fresh.assign(snap);
  m.forward(ids.data() + 100, 50, fresh, got.data());
  EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * 4));
}

TEST(CacheSnapshot, Bf16KvRestoresExactlyAndHalvesBytes) {
  Model m(Weights::load(variant_dir(), WeightDType::F32));
  m.set_kv_dtype(KvDtype::BF16);
  const ModelConfig& cfg = m.config();
  EXPECT_EQ(Cache::bytes_per_token(cfg, KvDtype::BF16) * 2, Cache::bytes_per_token(cfg));
  const int64_t V = cfg.vocab_size;
  std::vector<int32_t> ids(150);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t((i * 13 + 2) % size_t(V));
  Cache c = m.new_cache();
  EXPECT_EQ(c.kv_dtype(), KvDtype::BF16);
  std::vector<float> l(size_t(100 * V)), want(size_t(50 * V)), got(size_t(50 * V));
  m.forward(ids.data(), 100, c, l.data());
  const Cache snap = c.snapshot();
  EXPECT_EQ(snap.bytes(), Cache::bytes_for(cfg, 100, KvDtype::BF16));
  m.forward(ids.data() + 100, 50, c, want.data());
  Cache fresh = m.new_cache();
  fresh.assign(snap);
  m.forward(ids.data() + 100, 50, fresh, got.data());
  EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * 4));
  Cache f32(cfg);  // a snapshot never silently changes dtype
  EXPECT_THROW(f32.assign(snap), Error);
  EXPECT_THROW(parse_kv_dtype("fp8"), Error);
}

TEST(CacheSlots, ForkResetAndBudget) {
  const ModelConfig cfg = variant_config();
  Model m(Weights::load(variant_dir(), WeightDType::F32));
  const size_t budget = Cache::bytes_for(cfg, 200) * 2;
  CacheSlots slots(m.config(), 2, budget);
  EXPECT_EQ(CacheSlots::tokens_per_slot(cfg, 2, budget), 200);
  const int a = slots.acquire(), b = slots.acquire();
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  EXPECT_EQ(slots.acquire(), -1);
  EXPECT_TRUE(slots.reserve(a, 150));
  EXPECT_FALSE(slots.reserve(b, 300));  // would exceed the budget
  EXPECT_TRUE(slots.reserve(b, 200));
  EXPECT_LE(slots.bytes(), budget);
  std::vector<int32_t> ids(140);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t((i * 17 + 3) % size_t(cfg.vocab_size));
  const int64_t V = cfg.vocab_size;
  std::vector<float> l(static_cast<size_t>(V)), x(static_cast<size_t>(V)), y(static_cast<size_t>(V));
  m.forward(ids.data(), 130, slots.at(a), l.data(), true);
  slots.fork(a, b);
  m.forward(ids.data() + 130, 1, slots.at(a), x.data(), true);
  m.forward(ids.data() + 130, 1, slots.at(b), y.data(), true);
  EXPECT_EQ(x, y);
  slots.release(b);
  EXPECT_EQ(slots.free_count(), 1);
  EXPECT_EQ(slots.at(b).n_past(), 0);
  EXPECT_THROW(slots.at(5), Error);
}

TEST(ModelCore, BadSegmentsAreClearErrors) {
  Model m(Weights::load(variant_dir(), WeightDType::F32));
  const int64_t V = m.config().vocab_size;
  std::vector<int32_t> ids = {1, 2, 3};
  std::vector<float> l(size_t(3 * V));
  Cache c = m.new_cache();
  const Segment wrong_pos{ids.data(), 3, 5, &c};
  EXPECT_THROW(m.forward(std::span<const Segment>(&wrong_pos, 1), l.data()), Error);
  const Segment shared[2] = {{ids.data(), 1, 0, &c}, {ids.data() + 1, 1, 0, &c}};
  EXPECT_THROW(m.forward(shared, l.data()), Error);
  std::vector<int32_t> bad = {1, int32_t(V)};
  const Segment oob{bad.data(), 2, 0, nullptr};
  EXPECT_THROW(m.forward(std::span<const Segment>(&oob, 1), l.data()), Error);
  EXPECT_EQ(c.n_past(), 0);
}

}  // namespace
