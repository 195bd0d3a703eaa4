#include <cmath>
#include <cstring>
#include <limits>
#include <fstream>

#include "core/error.h"
#include "io/safetensors.h"
#include "test_util.h"

using namespace hyb;
using namespace hyb::test;

namespace {

void write_raw(const std::string& path, const std::string& header, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  uint64_t n = header.size();
  f.write(reinterpret_cast<const char*>(&n), 8);
  f << header << data;
}

std::string expect_error(const std::string& path) {
  try {
    SafetensorsFile f(path);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for " << path;
  return "";
}

}  // namespace

TEST(Safetensors, WriterRoundTrip) {
  TempDir d;
  std::vector<float> a = {1, 2, 3, 4, 5, 6};
  std::vector<uint16_t> b = {f32_to_bf16(1.5f), f32_to_bf16(-2.f)};
  {
    SafetensorsWriter w(d / "m.safetensors", {{"a", DType::F32, {2, 3}}, {"b", DType::BF16, {2}}});
    w.write("a", a.data(), a.size() * 4);
    w.write("b", b.data(), b.size() * 2);
    w.finish();
  }
  SafetensorsFile f(d / "m.safetensors");
  ASSERT_EQ(f.tensors().size(), 2u);
  const TensorView* ta = f.find("a");
  ASSERT_TRUE(ta);
  EXPECT_EQ(ta->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(std::memcmp(ta->data, a.data(), 24), 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(ta->data) % 8, 0u);  // header padded: data stays aligned
  EXPECT_EQ(bf16_to_f32(reinterpret_cast<const uint16_t*>(f.find("b")->data)[0]), 1.5f);
  EXPECT_EQ(f.metadata().at("format"), "pt");
}

TEST(Safetensors, AbandonedWriterLeavesNoFile) {
  TempDir d;
  {
    SafetensorsWriter w(d / "x.safetensors", {{"a", DType::F32, {1}}});
  }
  EXPECT_FALSE(std::filesystem::exists(d / "x.safetensors"));
  EXPECT_TRUE(std::filesystem::is_empty(d.str()));
}

TEST(Safetensors, TruncatedFile) {
  TempDir d;
  std::ofstream(d / "t.safetensors") << "abc";
  EXPECT_NE(expect_error(d / "t.safetensors").find("truncated"), std::string::npos);
}

TEST(Safetensors, HeaderPastEnd) {
  TempDir d;
  std::ofstream f(d / "h.safetensors", std::ios::binary);
  uint64_t n = 1000;
  f.write(reinterpret_cast<const char*>(&n), 8);
  f << "{}";
  f.close();
  EXPECT_NE(expect_error(d / "h.safetensors").find("past the end"), std::string::npos);
}

TEST(Safetensors, InvalidJson) {
  TempDir d;
  write_raw(d / "j.safetensors", "{\"a\": [", "");
  EXPECT_NE(expect_error(d / "j.safetensors").find("not valid JSON"), std::string::npos);
}

TEST(Safetensors, OffsetsPastData) {
  TempDir d;
  write_raw(d / "o.safetensors", R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", "12345678");
  std::string e = expect_error(d / "o.safetensors");
  EXPECT_NE(e.find("'w'"), std::string::npos) << e;
  EXPECT_NE(e.find("past the end"), std::string::npos) << e;
}

TEST(Safetensors, SizeDisagreesWithShape) {
  TempDir d;
  write_raw(d / "s.safetensors", R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", "12345678");
  EXPECT_NE(expect_error(d / "s.safetensors").find("needs 12"), std::string::npos);
}

TEST(Safetensors, UnknownDtype) {
  TempDir d;
  write_raw(d / "u.safetensors", R"({"w": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 1]}})", "1");
  EXPECT_NE(expect_error(d / "u.safetensors").find("unsupported dtype"), std::string::npos);
}

TEST(Safetensors, MissingFile) {
  EXPECT_NE(expect_error("/nonexistent/dir/model.safetensors").find("cannot open"), std::string::npos);
}

// F16 rounding, checked against the definition rather than against another conversion: every half value converts
// back to itself, the midpoint between two neighbours rounds to the one with an even mantissa, just past it rounds
// up, and values past the largest half become inf.
TEST(Dtype, F32ToF16RoundsToNearestEven) {
  for (uint32_t h = 0; h < 0x7c00u; ++h) {  // every finite non-negative half
    const float v = f16_to_f32(uint16_t(h));
    ASSERT_EQ(f32_to_f16(v), h) << std::hex << h;
    ASSERT_EQ(f32_to_f16(-v), h | 0x8000u) << std::hex << h;
    if (h + 1 == 0x7c00u) break;
    const double mid = (double(v) + double(f16_to_f32(uint16_t(h + 1)))) / 2;  // exact in float
    const uint16_t even = (h & 1) ? uint16_t(h + 1) : uint16_t(h);
    ASSERT_EQ(f32_to_f16(float(mid)), even) << std::hex << h;
    ASSERT_EQ(f32_to_f16(std::nextafter(float(mid), 1e9f)), h + 1) << std::hex << h;
    ASSERT_EQ(f32_to_f16(std::nextafter(float(mid), 0.f)), h) << std::hex << h;
  }
  EXPECT_EQ(f32_to_f16(65520.f), 0x7c00u);  // the midpoint past 65504 rounds to inf
  EXPECT_EQ(f32_to_f16(65519.99f), 0x7bffu);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::infinity()), 0x7c00u);
  EXPECT_EQ(f32_to_f16(1e-8f), 0u);  // below half the smallest subnormal
  const uint16_t nan = f32_to_f16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00u, 0x7c00u);
  EXPECT_NE(nan & 0x3ffu, 0u);
}
