// Synthetic tasks: group tables against the group axioms and hand-computed products, examples against their
// definition (recomputed here from the tokens), determinism by seed, and the data directory round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"
#include "synth/permutation_group.h"
#include "synth/synth_data.h"
#include "test_util.h"
#include "train/token_shards.h"
#include "train/window_sampler.h"

namespace hyb {
namespace {

TEST(Synth, GroupTablesAreGroups) {
  for (int k : {3, 5}) {
    const GroupTable g = symmetric_group(k);
    ASSERT_EQ(g.n, k == 3 ? 6 : 120);
    for (int32_t a = 0; a < g.n; ++a) {
      EXPECT_EQ(g(0, a), a);
      EXPECT_EQ(g(a, 0), a);
      std::set<int32_t> row;
      for (int32_t b = 0; b < g.n; ++b) row.insert(g(a, b));
      EXPECT_EQ(int32_t(row.size()), g.n) << "row " << a << " is not a permutation";
    }
    for (int32_t a = 0; a < g.n; a += 7)
      for (int32_t b = 0; b < g.n; b += 3)
        for (int32_t c = 0; c < g.n; c += 5) EXPECT_EQ(g(g(a, b), c), g(a, g(b, c)));
  }
  // S3 in lexicographic one-line order: 0=012 1=021 2=102 3=120 4=201 5=210. Apply 021 then 102: i ↦ b(a(i)):
  // 0→0→1, 1→2→2, 2→1→0 = 120 (index 3); the other order gives 201 (index 4): S3 is not commutative.
  const GroupTable s3 = symmetric_group(3);
  EXPECT_EQ(s3(1, 2), 3);
  EXPECT_EQ(s3(2, 1), 4);
  EXPECT_EQ(cyclic_group(2)(1, 1), 0);
}

TEST(Synth, ParityLabelsAreRunningXor) {
  SynthSpec s;
  s.task = SynthTask::Parity;
  s.min_len = 5;
  s.max_len = 40;
  std::set<size_t> lengths;
  for (uint64_t i = 0; i < 50; ++i) {
    const SynthExample e = synth_example(s, 7, i);
    ASSERT_EQ(e.ids.size(), e.labels.size());
    lengths.insert(e.ids.size());
    EXPECT_EQ(e.ids[0], kSynthBos);
    EXPECT_EQ(e.labels[0], -1);
    int x = 0;
    for (size_t t = 1; t < e.ids.size(); ++t) {
      ASSERT_TRUE(e.ids[t] == 2 || e.ids[t] == 3);
      x ^= e.ids[t] - 2;
      EXPECT_EQ(e.labels[t], 2 + x);
    }
  }
  EXPECT_GT(lengths.size(), 10u) << "lengths should be drawn from the range";
  s.running = false;
  const SynthExample f = synth_example(s, 7, 0);
  for (size_t t = 0; t + 1 < f.labels.size(); ++t) EXPECT_EQ(f.labels[t], -1);
  EXPECT_GE(f.labels.back(), 2);
}

TEST(Synth, MqarAnswersAreTheStoredValues) {
  SynthSpec s;
  s.task = SynthTask::MQAR;
  s.pairs = 6;
  s.keys = 16;
  s.values = 16;
  s.min_len = s.max_len = 64;
  for (uint64_t i = 0; i < 20; ++i) {
    const SynthExample e = synth_example(s, 1, i);
    ASSERT_EQ(int64_t(e.ids.size()), 64);
    std::map<int32_t, int32_t> store;
    for (int p = 0; p < 6; ++p) {
      const int32_t k = e.ids[size_t(1 + 2 * p)], v = e.ids[size_t(2 + 2 * p)];
      ASSERT_TRUE(k >= 4 && k < 20) << k;
      ASSERT_TRUE(v >= 20 && v < 36) << v;
      EXPECT_TRUE(store.emplace(k, v).second) << "keys must be distinct";
    }
    EXPECT_EQ(e.ids[13], 2);  // SEP
    int answers = 0;
    for (size_t t = 0; t < e.ids.size(); ++t) {
      if (e.labels[t] < 0) continue;
      ++answers;
      ASSERT_TRUE(store.count(e.ids[t])) << "a query must be a stored key";
      EXPECT_EQ(e.labels[t], store[e.ids[t]]);
      EXPECT_EQ(e.ids[t + 1], e.labels[t]) << "the answer follows its query";
    }
    EXPECT_EQ(answers, 6);
  }
}

TEST(Synth, MqarPairRangeCoversEveryCount) {
  SynthSpec s;
  s.task = SynthTask::MQAR;
  s.min_pairs = 2;
  s.pairs = 8;
  s.keys = s.values = 16;
  s.min_len = s.max_len = 40;
  s.validate();
  std::set<int> counts;
  for (uint64_t i = 0; i < 200; ++i) {
    const SynthExample e = synth_example(s, 5, i);
    ASSERT_EQ(int64_t(e.ids.size()), 40) << "filler keeps the length fixed whatever the pair count";
    const auto sep = size_t(std::find(e.ids.begin(), e.ids.end(), 2) - e.ids.begin());
    ASSERT_EQ(sep % 2, 1u);
    const int n = int(sep / 2);
    std::map<int32_t, int32_t> store;
    for (int p = 0; p < n; ++p) store.emplace(e.ids[size_t(1 + 2 * p)], e.ids[size_t(2 + 2 * p)]);
    ASSERT_EQ(int(store.size()), n) << "keys must be distinct";
    int answers = 0;
    for (size_t t = 0; t < e.ids.size(); ++t) {
      if (e.labels[t] < 0) continue;
      ++answers;
      ASSERT_TRUE(store.count(e.ids[t]));
      EXPECT_EQ(e.labels[t], store[e.ids[t]]);
    }
    EXPECT_EQ(answers, n) << "every stored key is asked back";
    counts.insert(n);
  }
  EXPECT_EQ(counts, (std::set<int>{2, 3, 4, 5, 6, 7, 8}));
  s.min_pairs = 9;
  EXPECT_THROW(s.validate(), Error);
}

TEST(Synth, DeterministicBySeed) {
  SynthSpec s;
  s.task = SynthTask::S5;
  s.min_len = 8;
  s.max_len = 30;
  EXPECT_EQ(synth_example(s, 3, 11).ids, synth_example(s, 3, 11).ids);
  EXPECT_NE(synth_example(s, 3, 11).ids, synth_example(s, 4, 11).ids);
  EXPECT_NE(synth_example(s, 3, 11).ids, synth_example(s, 3, 12).ids);
}

TEST(Synth, DataDirectoryRoundTrip) {
  test::TempDir dir;
  SynthSpec s;
  s.task = SynthTask::S3;
  s.min_len = 4;
  s.max_len = 12;
  const SynthDataStats st = write_synth_data(s, dir.str(), 30, 5, 9);
  EXPECT_EQ(st.record, 13);
  const TokenData d = TokenData::open(dir.str());
  ASSERT_TRUE(d.train().has_labels());
  EXPECT_EQ(d.train().record(), 13);
  EXPECT_EQ(d.train().tokens(), 30 * 13);
  EXPECT_EQ(d.vocab_size(), 8);
  // Record 17 of the train split is example 17 of the seed, padded with PAD and unscored positions.
  std::vector<int32_t> ids(13), lab(13);
  d.train().read(0, 17 * 13, 13, ids.data());
  d.train().read_labels(0, 17 * 13, 13, lab.data());
  const SynthExample e = synth_example(s, 9, 17);
  for (size_t t = 0; t < 13; ++t) {
    EXPECT_EQ(ids[t], t < e.ids.size() ? e.ids[t] : kSynthPad);
    EXPECT_EQ(lab[t], t < e.ids.size() ? e.labels[t] : -1);
  }
  // Training windows are whole records, and the window must be one record.
  WindowSampler ws(d.train(), 13, 1, "train");
  std::vector<int32_t> b(4 * 13), bl(4 * 13);
  ws.batch(0, 4, b.data(), bl.data());
  for (int r = 0; r < 4; ++r) EXPECT_EQ(b[size_t(r * 13)], kSynthBos);
  EXPECT_THROW(WindowSampler(d.train(), 12, 1, "train"), Error);
}

TEST(Synth, BadSpecsAreOneLineErrors) {
  SynthSpec s;
  s.task = SynthTask::MQAR;
  s.pairs = 10;
  s.min_len = s.max_len = 20;  // needs 2 + 20 + 20
  EXPECT_THROW(s.validate(), Error);
  s.min_len = s.max_len = 42;
  EXPECT_NO_THROW(s.validate());
  s.keys = 5;
  EXPECT_THROW(s.validate(), Error);
  EXPECT_THROW(parse_synth_task("s4"), Error);
}

}  // namespace
}  // namespace hyb
