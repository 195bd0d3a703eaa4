#include <fstream>

#include "core/error.h"
#include "test_util.h"

using namespace hyb;
using namespace hyb::test;

TEST(Npy, RoundTripF32) {
  TempDir d;
  std::vector<float> v = {1.5f, -2.f, 3.25f, 0.f, 1e-30f, 7.f};
  npy_write_f32(d / "a.npy", {2, 3}, v.data());
  std::vector<int64_t> shape;
  auto back = load_f32(d / "a.npy", &shape);
  EXPECT_EQ(shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(back, v);
}

TEST(Npy, ReadsNumpyWrittenIds) {
  // int32 ids written by NumPy itself (the golden inputs).
  if (!have_golden()) GTEST_SKIP() << "golden data not found";
  auto rows = npy_read_ids(golden_dir() + "/ids_prefill.npy", 512);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].size(), 37u);
}

TEST(Npy, Ids1DAnd2DAndInt64) {
  TempDir d;
  int64_t ids[6] = {0, 1, 2, 3, 4, 5};
  npy_write(d / "b.npy", DType::I64, {2, 3}, ids);
  auto rows = npy_read_ids(d / "b.npy", 10);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1], (std::vector<int32_t>{3, 4, 5}));
}

TEST(Npy, RejectsFloatIds) {
  TempDir d;
  float v[2] = {1, 2};
  npy_write_f32(d / "f.npy", {2}, v);
  try {
    npy_read_ids(d / "f.npy", 10);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("integer"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("f.npy"), std::string::npos) << e.what();
  }
}

TEST(Npy, RejectsOutOfVocabIds) {
  TempDir d;
  int32_t v[3] = {1, 2, 10};
  npy_write_i32(d / "i.npy", {3}, v);
  EXPECT_THROW(npy_read_ids(d / "i.npy", 10), Error);
  int32_t neg[1] = {-1};
  npy_write_i32(d / "n.npy", {1}, neg);
  EXPECT_THROW(npy_read_ids(d / "n.npy", 10), Error);
}

TEST(Npy, RejectsTruncatedAndGarbage) {
  TempDir d;
  int32_t v[4] = {1, 2, 3, 4};
  npy_write_i32(d / "t.npy", {4}, v);
  auto full = std::filesystem::file_size(d / "t.npy");
  std::filesystem::resize_file(d / "t.npy", full - 3);
  EXPECT_THROW(npy_read_ids(d / "t.npy", 10), Error);
  std::ofstream(d / "g.npy") << "not a numpy file at all";
  EXPECT_THROW(npy_read(d / "g.npy"), Error);
  EXPECT_THROW(npy_read(d / "missing.npy"), Error);
}
