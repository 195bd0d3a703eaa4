// The GEMM-shaped training attention against independent references: the forward against the float64
// reference of the inference kernel (attention_causal_reference), the saved log-sum-exp against a direct
// float64 sum, and the backward against the float64 recompute backward that test_backward.cpp pins to finite
// differences. Shapes cross the 128-row block boundary, use GQA, padded row strides and several sequences.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/attention.h"
#include "kernels/attention_backward.h"
#include "kernels/attention_train.h"
#include "kernels/vec_math.h"

namespace hyb {
namespace {

struct Shape {
  int64_t B, T, H, Hkv, hd;
};

double rel_err(const std::vector<double>& ref, const std::vector<float>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    num += (ref[i] - got[i]) * (ref[i] - got[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

class AttentionTrain : public ::testing::TestWithParam<Shape> {};

TEST_P(AttentionTrain, MatchesFloat64References) {
  const auto [B, T, H, Hkv, hd] = GetParam();
  const int64_t ldq = H * hd + 5, ldkv = Hkv * hd + 3, ldo = H * hd + 2, N = B * T;
  const float scale = float(1.0 / std::sqrt(double(hd)));
  std::mt19937 rng(42);
  std::normal_distribution<float> nd(0.f, 1.f);
  auto randv = [&](int64_t n, float s) {
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = s * nd(rng);
    return v;
  };
  // Scores with a spread of a few units, so the softmax is neither flat nor one-hot.
  const std::vector<float> q = randv(N * ldq, 1.5f), k = randv(N * ldkv, 1.5f), v = randv(N * ldkv, 1.f),
                           dout = randv(N * ldo, 1.f);
  std::vector<float> out(size_t(N * ldo), 0.f), lse(size_t(B * H * T));
  const AttentionTrainArgs a{q.data(), ldq, k.data(), v.data(), ldkv, B, T, H, Hkv, hd, scale};
  attention_train_forward(a, out.data(), ldo, lse.data());
  std::vector<float> dq(size_t(N * ldq)), dk(size_t(N * ldkv)), dv(size_t(N * ldkv));
  attention_train_backward(a, out.data(), ldo, lse.data(), dout.data(), ldo, dq.data(), ldq, dk.data(), dv.data(),
                           ldkv);

  const int64_t group = H / Hkv;
  for (int64_t b = 0; b < B; ++b) {
    // Head-major copies of this sequence's k and v, the layout of the references.
    std::vector<float> kh(size_t(Hkv * T * hd)), vh(kh.size());
    std::vector<double> khd(kh.size()), vhd(kh.size());
    for (int64_t g = 0; g < Hkv; ++g)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t i = 0; i < hd; ++i) {
          const size_t src = size_t((b * T + t) * ldkv + g * hd + i), dst = size_t((g * T + t) * hd + i);
          khd[dst] = kh[dst] = k[src];
          vhd[dst] = vh[dst] = v[src];
        }
    std::vector<float> ref_out(size_t(T * H * hd));
    AttentionArgs ra{q.data() + b * T * ldq, ldq, kh.data(), vh.data(), T * hd, ref_out.data(), H * hd, T, H, Hkv,
                     hd, 0, scale};
    attention_causal_reference(ra);
    std::vector<double> ro(ref_out.size());
    std::vector<float> go(ref_out.size());
    for (int64_t t = 0; t < T; ++t)
      for (int64_t j = 0; j < H * hd; ++j) {
        ro[size_t(t * H * hd + j)] = ref_out[size_t(t * H * hd + j)];
        go[size_t(t * H * hd + j)] = out[size_t((b * T + t) * ldo + j)];
      }
    EXPECT_LT(rel_err(ro, go), 2e-6) << "forward, sequence " << b;

    // lse of every (head, query) in float64.
    double worst = 0;
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t) {
        double m = -1e300;
        std::vector<double> s(size_t(t + 1));
        for (int64_t j = 0; j <= t; ++j) {
          double d = 0;
          for (int64_t i = 0; i < hd; ++i)
            d += double(q[size_t((b * T + t) * ldq + h * hd + i)]) * khd[size_t(((h / group) * T + j) * hd + i)];
          m = std::max(m, s[size_t(j)] = d * scale);
        }
        double z = 0;
        for (double x : s) z += std::exp(x - m);
        worst = std::max(worst, std::abs(m + std::log(z) - lse[size_t((b * H + h) * T + t)]));
      }
    EXPECT_LT(worst, 2e-5) << "lse, sequence " << b;

    // Backward: the float64 kernel on the same (float-rounded) inputs and the float64 forward output.
    std::vector<double> qd(size_t(T * ldq)), od(size_t(T * H * hd)), dod(od.size());
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t j = 0; j < ldq; ++j) qd[size_t(t * ldq + j)] = q[size_t((b * T + t) * ldq + j)];
      for (int64_t j = 0; j < H * hd; ++j) {
        od[size_t(t * H * hd + j)] = ro[size_t(t * H * hd + j)];
        dod[size_t(t * H * hd + j)] = dout[size_t((b * T + t) * ldo + j)];
      }
    }
    std::vector<double> rdq(qd.size(), 0.0), rdk(khd.size()), rdv(vhd.size());
    AttentionBackwardArgs<double> rb{qd.data(), ldq, khd.data(), vhd.data(), T * hd, od.data(), H * hd,
                                     dod.data(), H * hd, rdq.data(), ldq, rdk.data(), rdv.data(), T, H, Hkv, hd,
                                     double(scale)};
    attention_causal_backward(rb);
    std::vector<double> rq, rk, rv;
    std::vector<float> gq, gk, gv;
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t j = 0; j < H * hd; ++j) {
        rq.push_back(rdq[size_t(t * ldq + j)]);
        gq.push_back(dq[size_t((b * T + t) * ldq + j)]);
      }
      for (int64_t g = 0; g < Hkv; ++g)
        for (int64_t i = 0; i < hd; ++i) {
          rk.push_back(rdk[size_t((g * T + t) * hd + i)]);
          rv.push_back(rdv[size_t((g * T + t) * hd + i)]);
          gk.push_back(dk[size_t((b * T + t) * ldkv + g * hd + i)]);
          gv.push_back(dv[size_t((b * T + t) * ldkv + g * hd + i)]);
        }
    }
    EXPECT_LT(rel_err(rq, gq), 2e-5) << "dq, sequence " << b;
    EXPECT_LT(rel_err(rk, gk), 2e-5) << "dk, sequence " << b;
    EXPECT_LT(rel_err(rv, gv), 2e-5) << "dv, sequence " << b;
  }
}

TEST(VecMath, FastExpAgreesWithLibm) {
  double worst = 0;
  for (float x = -87.f; x <= 88.f; x += 0.0137f) {
    const double ref = std::exp(double(x));
    worst = std::max(worst, std::abs(double(vec::fast_exp(x)) - ref) / ref);
  }
  EXPECT_LT(worst, 3e-7);
  EXPECT_LT(vec::fast_exp(-INFINITY), 1e-37f);  // masked scores vanish next to exp(0)
  EXPECT_EQ(vec::fast_exp(0.f), 1.f);
}

TEST(VecMath, RowReductions) {
  std::vector<float> x(1000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * float(i)) * 3.f;
  double s = 0, d = 0;
  for (float v : x) s += std::exp(0.5 * v - 1.0), d += double(v) * v;
  EXPECT_EQ(vec::max_of(x.data(), 999), *std::max_element(x.begin(), x.end() - 1));
  EXPECT_NEAR(vec::dot(x.data(), x.data(), 1000), d, 1e-5 * d);
  std::vector<float> e = x;
  EXPECT_NEAR(vec::exp_affine_sum(e.data(), 1000, 0.5f, 1.f), s, 1e-6 * s);
  EXPECT_NEAR(e[7], std::exp(0.5 * x[7] - 1.0), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionTrain,
                         ::testing::Values(Shape{2, 300, 4, 2, 16},  // crosses two row blocks, GQA
                                           Shape{1, 128, 2, 2, 8},   // exactly one block
                                           Shape{3, 5, 3, 1, 4},     // tiny, all query heads on one kv head
                                           Shape{1, 513, 1, 1, 64}));

}  // namespace
}  // namespace hyb
