// Finite-difference checks (float64) of every backward kernel. Each test builds a scalar loss L = Σ wᵢ·yᵢ with
// random weights w (so dy = w), perturbs every input coordinate by ±h and compares the central difference with
// the analytic gradient. The double forward "twins" below mirror the f32 production forwards line by line; a
// second group of tests pins each twin to its production kernel.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

#include "kernels/activations.h"
#include "kernels/activations_backward.h"
#include "kernels/attention.h"
#include "kernels/attention_backward.h"
#include "kernels/gdn.h"
#include "kernels/linear_backward.h"
#include "kernels/lm_head_loss.h"
#include "kernels/norms.h"
#include "kernels/norms_backward.h"
#include "kernels/rope.h"
#include "kernels/rope_backward.h"
#include "kernels/short_conv.h"
#include "kernels/short_conv_backward.h"

namespace hyb {
namespace {

using Vec = std::vector<double>;

Vec randn(std::mt19937& rng, size_t n, double scale = 1.0) {
  std::normal_distribution<double> d(0.0, scale);
  Vec v(n);
  for (auto& x : v) x = d(rng);
  return v;
}
Vec uniform(std::mt19937& rng, size_t n, double lo, double hi) {
  std::uniform_real_distribution<double> d(lo, hi);
  Vec v(n);
  for (auto& x : v) x = d(rng);
  return v;
}
double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// ||fd − g|| / ||g|| over all coordinates of x, with fd the central difference of f.
double fd_rel_err(const std::function<double()>& f, Vec& x, const Vec& g, double h = 1e-5) {
  EXPECT_EQ(x.size(), g.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double x0 = x[i];
    x[i] = x0 + h;
    const double fp = f();
    x[i] = x0 - h;
    const double fm = f();
    x[i] = x0;
    const double fd = (fp - fm) / (2 * h);
    num += (fd - g[i]) * (fd - g[i]);
    den += g[i] * g[i];
  }
  const double err = std::sqrt(num) / std::max(std::sqrt(den), 1e-300);
  if (std::getenv("HYB_PRINT_FD")) std::printf("    fd rel err %.3e\n", err);
  return err;
}

constexpr double kTol = 1e-7;

// ---- double twins of the f32 forwards ----

void rmsnorm_d(const Vec& x, const Vec& w, Vec& y, int64_t rows, int64_t n, double eps, int64_t ldx) {
  y.assign(size_t(rows * n), 0);
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += x[r * ldx + i] * x[r * ldx + i];
    const double inv = 1 / std::sqrt(ss / n + eps);
    for (int64_t i = 0; i < n; ++i) y[r * n + i] = w[i] * x[r * ldx + i] * inv;
  }
}
void gated_d(const Vec& o, const Vec& z, const Vec& w, Vec& y, int64_t rows, int64_t n, double eps) {
  y.assign(o.size(), 0);
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += o[r * n + i] * o[r * n + i];
    const double inv = 1 / std::sqrt(ss / n + eps);
    for (int64_t i = 0; i < n; ++i) {
      const double zi = z[r * n + i];
      y[r * n + i] = w[i] * o[r * n + i] * inv * zi / (1 + std::exp(-zi));
    }
  }
}
void l2_d(const Vec& x, Vec& y, int64_t T, int64_t heads, int64_t n, int64_t ld, double eps, double scale) {
  y = x;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < heads; ++h) {
      double ss = 0;
      for (int64_t i = 0; i < n; ++i) ss += x[t * ld + h * n + i] * x[t * ld + h * n + i];
      for (int64_t i = 0; i < n; ++i) y[t * ld + h * n + i] = scale * x[t * ld + h * n + i] / std::sqrt(ss + eps);
    }
}
void conv_d(const Vec& x, int64_t T, int64_t C, const Vec& w, int64_t K, Vec& y) {
  y.assign(size_t(T * C), 0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < C; ++c) {
      double acc = 0;
      for (int64_t i = 0; i < K; ++i) {
        const int64_t s = t - (K - 1) + i;
        if (s >= 0) acc += w[c * K + i] * x[s * C + c];
      }
      y[t * C + c] = acc / (1 + std::exp(-acc));
    }
}
void rope_d(Vec& x, int64_t T, int64_t heads, int64_t hd, int64_t ld, int64_t pos0, double theta) {
  const int64_t half = hd / 2;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < half; ++i) {
        const float inv = 1.f / std::pow(float(theta), float(2 * i) / float(hd));
        const double ang = double(pos0 + t) * double(inv), c = std::cos(ang), s = std::sin(ang);
        double& a = x[t * ld + h * hd + i];
        double& b = x[t * ld + h * hd + i + half];
        const double a0 = a, b0 = b;
        a = a0 * c - b0 * s;
        b = b0 * c + a0 * s;
      }
}
// q [T, H, hd] (row stride ldq); k, v head-major [Hkv][T][hd]; out [T, H, hd].
void attn_d(const Vec& q, int64_t ldq, const Vec& k, const Vec& v, Vec& out, int64_t T, int64_t H, int64_t Hkv,
            int64_t hd, double scale) {
  out.assign(size_t(T * H * hd), 0);
  for (int64_t h = 0; h < H; ++h) {
    const int64_t g = h / (H / Hkv);
    for (int64_t t = 0; t < T; ++t) {
      Vec s(size_t(t + 1));
      double m = -1e300;
      for (int64_t j = 0; j <= t; ++j) {
        double d = 0;
        for (int64_t i = 0; i < hd; ++i) d += q[t * ldq + h * hd + i] * k[(g * T + j) * hd + i];
        s[j] = d * scale;
        m = std::max(m, s[j]);
      }
      double z = 0;
      for (auto& x : s) z += (x = std::exp(x - m));
      for (int64_t i = 0; i < hd; ++i) {
        double acc = 0;
        for (int64_t j = 0; j <= t; ++j) acc += s[j] * v[(g * T + j) * hd + i];
        out[(t * H + h) * hd + i] = acc / z;
      }
    }
  }
}

// ---- finite-difference tests ----

TEST(Backward, RmsNorm) {
  std::mt19937 rng(1);
  const int64_t rows = 3, n = 5, ldx = 7;
  Vec x = randn(rng, rows * ldx), w = uniform(rng, n, 0.5, 1.5), wy = randn(rng, rows * n);
  const double eps = 1e-6;
  auto f = [&] { Vec y; rmsnorm_d(x, w, y, rows, n, eps, ldx); return dot(y, wy); };
  Vec dx(rows * ldx, 0.0), dw(n, 0.0);
  rmsnorm_backward<double>(x.data(), w.data(), wy.data(), dx.data(), dw.data(), rows, n, eps, ldx, n, ldx);
  EXPECT_LT(fd_rel_err(f, x, dx), kTol);
  EXPECT_LT(fd_rel_err(f, w, dw), kTol);
  // accumulate mode adds on top of what is there
  Vec dx2(rows * ldx, 1.0);
  rmsnorm_backward<double>(x.data(), w.data(), wy.data(), dx2.data(), nullptr, rows, n, eps, ldx, n, ldx, true);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(dx2[r * ldx + i], dx[r * ldx + i] + 1.0, 1e-12);
}

TEST(Backward, GatedRmsNorm) {
  std::mt19937 rng(2);
  const int64_t rows = 4, n = 6;
  Vec o = randn(rng, rows * n), z = randn(rng, rows * n, 2.0), w = uniform(rng, n, 0.5, 1.5),
      wy = randn(rng, rows * n);
  auto f = [&] { Vec y; gated_d(o, z, w, y, rows, n, 1e-5); return dot(y, wy); };
  Vec d_o(rows * n), dz(rows * n), dw(n, 0.0);
  gated_rmsnorm_backward<double>(o.data(), z.data(), w.data(), wy.data(), d_o.data(), dz.data(), dw.data(), rows, n,
                                 1e-5);
  EXPECT_LT(fd_rel_err(f, o, d_o), kTol);
  EXPECT_LT(fd_rel_err(f, z, dz), kTol);
  EXPECT_LT(fd_rel_err(f, w, dw), kTol);
}

TEST(Backward, L2NormScale) {
  std::mt19937 rng(3);
  const int64_t T = 3, heads = 2, n = 4, ld = 11;
  Vec x = randn(rng, T * ld), wy = randn(rng, T * ld);
  const double scale = 0.5;
  auto f = [&] {
    Vec y;
    l2_d(x, y, T, heads, n, ld, 1e-6, scale);
    double s = 0;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < heads * n; ++i) s += y[t * ld + i] * wy[t * ld + i];
    return s;
  };
  Vec dx(T * ld, 0.0);
  l2norm_scale_backward<double>(x.data(), wy.data(), dx.data(), T, heads, n, ld, ld, ld, 1e-6, scale);
  EXPECT_LT(fd_rel_err(f, x, dx), kTol);
}

TEST(Backward, SwiGLU) {
  std::mt19937 rng(4);
  const int64_t n = 13;
  Vec gt = randn(rng, n, 2.0), up = randn(rng, n), wy = randn(rng, n);
  auto f = [&] {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += wy[i] * gt[i] / (1 + std::exp(-gt[i])) * up[i];
    return s;
  };
  Vec dg(n), du(n);
  swiglu_backward<double>(gt.data(), up.data(), wy.data(), dg.data(), du.data(), n);
  EXPECT_LT(fd_rel_err(f, gt, dg), kTol);
  EXPECT_LT(fd_rel_err(f, up, du), kTol);
}

TEST(Backward, GdnGates) {
  for (bool neg : {true, false}) {
    std::mt19937 rng(5);
    const int64_t T = 4, Hv = 3;
    Vec b = randn(rng, T * Hv, 2.0), a = randn(rng, T * Hv, 2.0), A_log = uniform(rng, Hv, 0.0, 2.7),
        dt = randn(rng, Hv), wb = randn(rng, T * Hv), wg = randn(rng, T * Hv);
    a[5] = 24.0;  // above the softplus threshold: linear branch
    auto f = [&] {
      double s = 0;
      for (int64_t t = 0; t < T; ++t)
        for (int64_t h = 0; h < Hv; ++h) {
          const int64_t i = t * Hv + h;
          const double beta = (neg ? 2.0 : 1.0) / (1 + std::exp(-b[i]));
          const double x = a[i] + dt[h];
          const double g = -std::exp(A_log[h]) * (x > 20 ? x : std::log1p(std::exp(x)));
          s += wb[i] * beta + wg[i] * g;
        }
      return s;
    };
    Vec db(T * Hv), da(T * Hv), dA(Hv, 0.0), ddt(Hv, 0.0);
    gdn_gates_backward<double>(b.data(), a.data(), T, Hv, A_log.data(), dt.data(), neg, wb.data(), wg.data(),
                               db.data(), da.data(), dA.data(), ddt.data());
    EXPECT_LT(fd_rel_err(f, b, db), kTol);
    EXPECT_LT(fd_rel_err(f, a, da), kTol);
    EXPECT_LT(fd_rel_err(f, A_log, dA), kTol);
    EXPECT_LT(fd_rel_err(f, dt, ddt), kTol);
  }
}

TEST(Backward, ShortConvSilu) {
  std::mt19937 rng(6);
  const int64_t T = 9, C = 3, K = 4;
  Vec x = randn(rng, T * C), w = randn(rng, C * K, 0.5), wy = randn(rng, T * C);
  auto f = [&] { Vec y; conv_d(x, T, C, w, K, y); return dot(y, wy); };
  Vec dx(T * C), dw(C * K, 0.0);
  short_conv_silu_backward<double>(x.data(), T, C, w.data(), K, wy.data(), dx.data(), dw.data());
  EXPECT_LT(fd_rel_err(f, x, dx), kTol);
  EXPECT_LT(fd_rel_err(f, w, dw), kTol);
}

TEST(Backward, Rope) {
  std::mt19937 rng(7);
  const int64_t T = 5, heads = 2, hd = 8, ld = 20, pos0 = 3;
  Vec x = randn(rng, T * ld), wy = randn(rng, T * ld);
  auto f = [&] { Vec y = x; rope_d(y, T, heads, hd, ld, pos0, 10000.0); return dot(y, wy); };
  Vec dx = wy;
  rope_backward<double>(dx.data(), T, heads, hd, ld, pos0, 10000.0);
  for (int64_t t = 0; t < T; ++t)  // untouched padding columns pass their gradient through unchanged
    for (int64_t i = heads * hd; i < ld; ++i) dx[t * ld + i] = wy[t * ld + i];
  EXPECT_LT(fd_rel_err(f, x, dx), kTol);
}

TEST(Backward, AttentionGqa) {
  std::mt19937 rng(8);
  const int64_t T = 7, H = 4, Hkv = 2, hd = 4, ldq = H * hd + 3;
  const double scale = 1 / std::sqrt(double(hd));
  Vec q = randn(rng, T * ldq), k = randn(rng, Hkv * T * hd), v = randn(rng, Hkv * T * hd),
      wy = randn(rng, T * H * hd);
  auto f = [&] { Vec o; attn_d(q, ldq, k, v, o, T, H, Hkv, hd, scale); return dot(o, wy); };
  Vec out;
  attn_d(q, ldq, k, v, out, T, H, Hkv, hd, scale);
  Vec dq(T * ldq, 0.0), dk(k.size()), dv(v.size());
  AttentionBackwardArgs<double> args{q.data(), ldq,       k.data(),  v.data(),  T * hd, out.data(), H * hd,
                                     wy.data(), H * hd,   dq.data(), ldq,       dk.data(), dv.data(), T,
                                     H,         Hkv,      hd,        scale};
  attention_causal_backward(args);
  EXPECT_LT(fd_rel_err(f, q, dq), kTol);
  EXPECT_LT(fd_rel_err(f, k, dk), kTol);
  EXPECT_LT(fd_rel_err(f, v, dv), kTol);
}

struct GdnCase {
  int64_t T, C, Hk, Hv, dk, dv;
};

class GdnBackward : public ::testing::TestWithParam<GdnCase> {};

TEST_P(GdnBackward, MatchesFiniteDifferences) {
  const GdnCase p = GetParam();
  std::mt19937 rng(9);
  const int64_t T = p.T, Hk = p.Hk, Hv = p.Hv, dk = p.dk, dv = p.dv;
  Vec q = randn(rng, T * Hk * dk, 0.6), k = randn(rng, T * Hk * dk, 0.6), v = randn(rng, T * Hv * dv),
      beta = uniform(rng, T * Hv, 0.05, 1.95), g = uniform(rng, T * Hv, -1.5, 0.0),
      S0 = randn(rng, Hv * dk * dv, 0.5), wo = randn(rng, T * Hv * dv), ws = randn(rng, Hv * dk * dv);
  auto f = [&] {
    Vec out(T * Hv * dv), S = S0;
    GdnArgs<double> a{q.data(), Hk * dk, k.data(), Hk * dk, v.data(), Hv * dv, beta.data(), g.data(), S.data(),
                      out.data(), Hv * dv, T, Hk, Hv, dk, dv};
    gdn_chunk_forward(a, p.C);
    return dot(out, wo) + dot(S, ws);
  };
  Vec dq(q.size()), dk_(k.size()), dv_(v.size()), dbeta(beta.size()), dg(g.size()), dS0(S0.size());
  GdnArgs<double> a{q.data(), Hk * dk, k.data(), Hk * dk, v.data(), Hv * dv, beta.data(), g.data(), S0.data(),
                    nullptr, Hv * dv, T, Hk, Hv, dk, dv};
  GdnGradArgs<double> d{wo.data(), Hv * dv, ws.data(), dq.data(), Hk * dk, dk_.data(), Hk * dk,
                        dv_.data(), Hv * dv, dbeta.data(), dg.data(), dS0.data()};
  gdn_chunk_backward(a, d, p.C);
  EXPECT_LT(fd_rel_err(f, q, dq), kTol) << "dq";
  EXPECT_LT(fd_rel_err(f, k, dk_), kTol) << "dk";
  EXPECT_LT(fd_rel_err(f, v, dv_), kTol) << "dv";
  EXPECT_LT(fd_rel_err(f, beta, dbeta), kTol) << "dbeta";
  EXPECT_LT(fd_rel_err(f, g, dg), kTol) << "dg";
  EXPECT_LT(fd_rel_err(f, S0, dS0), kTol) << "dS0";
}

INSTANTIATE_TEST_SUITE_P(Shapes, GdnBackward,
                         ::testing::Values(GdnCase{7, 3, 1, 1, 3, 2},    // spec §5.4 recipe, partial last chunk
                                           GdnCase{10, 4, 2, 4, 3, 2},   // Hv > Hk
                                           GdnCase{5, 64, 1, 2, 4, 3},   // one short chunk
                                           GdnCase{9, 1, 1, 1, 2, 3},    // chunk of 1
                                           GdnCase{12, 4, 2, 2, 3, 3},   // T divisible by C
                                           GdnCase{40, 16, 1, 2, 5, 7},  // several chunks, partial last one
                                           GdnCase{3, 64, 1, 1, 17, 3},  // dk not a multiple of a vector
                                           GdnCase{1, 64, 1, 1, 4, 4})); // one token

// The float32 instantiation (what training runs) against the float64 one that the finite differences validate,
// at training-like head sizes and with several chunks.
TEST(Backward, GdnFloat32MatchesFloat64) {
  std::mt19937 rng(11);
  const int64_t T = 150, Hk = 2, Hv = 4, dk = 48, dv = 96, C = 64;
  Vec q = randn(rng, T * Hk * dk, 0.15), k = randn(rng, T * Hk * dk, 0.15), v = randn(rng, T * Hv * dv),
      beta = uniform(rng, T * Hv, 0.05, 1.95), g = uniform(rng, T * Hv, -0.3, 0.0),
      S0 = randn(rng, Hv * dk * dv, 0.5), wo = randn(rng, T * Hv * dv), ws = randn(rng, Hv * dk * dv);
  auto grads = [&](auto zero) {
    using F = decltype(zero);
    auto cv = [](const Vec& x) { return std::vector<F>(x.begin(), x.end()); };
    auto q_ = cv(q), k_ = cv(k), v_ = cv(v), b_ = cv(beta), g_ = cv(g), s_ = cv(S0), wo_ = cv(wo), ws_ = cv(ws);
    std::vector<F> dq(q.size()), dk_(k.size()), dv_(v.size()), db(beta.size()), dg(g.size()), ds(S0.size());
    GdnArgs<F> a{q_.data(), Hk * dk, k_.data(), Hk * dk, v_.data(), Hv * dv, b_.data(), g_.data(), s_.data(),
                 nullptr, Hv * dv, T, Hk, Hv, dk, dv};
    GdnGradArgs<F> d{wo_.data(), Hv * dv, ws_.data(), dq.data(), Hk * dk, dk_.data(), Hk * dk,
                     dv_.data(), Hv * dv, db.data(), dg.data(), ds.data()};
    gdn_chunk_backward(a, d, C);
    std::vector<Vec> out;
    for (auto* x : {&dq, &dk_, &dv_, &db, &dg, &ds}) out.emplace_back(x->begin(), x->end());
    return out;
  };
  const auto ref = grads(0.0), got = grads(0.f);
  const char* names[] = {"dq", "dk", "dv", "dbeta", "dg", "dS0"};
  for (size_t i = 0; i < ref.size(); ++i) {
    double err = 0, mx = 1;
    for (size_t j = 0; j < ref[i].size(); ++j) {
      err = std::max(err, std::fabs(ref[i][j] - got[i][j]));
      mx = std::max(mx, std::fabs(ref[i][j]));
    }
    EXPECT_LT(err / mx, 1e-4) << names[i] << " max|ref| " << mx;
  }
}

TEST(Backward, LmHeadLoss) {
  std::mt19937 rng(10);
  const int64_t N = 5, D = 4, V = 7;
  Vec h = randn(rng, N * D), W = randn(rng, V * D);
  const std::vector<int32_t> tg = {3, -1, 0, 6, 2};
  for (double z : {0.0, 1e-2}) {
    const double scale = 1.0 / 4;
    auto run = [&](double* dh, double* dW) {
      LmHeadLossArgs<double> a{h.data(), N, D, W.data(), V, tg.data(), scale, z};
      a.dh = dh;
      a.dW = dW;
      a.block = 2;
      const auto r = lm_head_loss(a);
      return scale * (r.ce_sum + z * r.z_sum);
    };
    auto f = [&] { return run(nullptr, nullptr); };
    Vec dh(N * D), dW(V * D, 0.0);
    run(dh.data(), dW.data());
    EXPECT_LT(fd_rel_err(f, h, dh), kTol);
    EXPECT_LT(fd_rel_err(f, W, dW), kTol);
  }
}

// Rows without a target skip the products: the result equals a call on the target rows alone, bit for bit, and
// the skipped rows get a zero gradient and a zero row loss.
TEST(Backward, LmHeadLossSkipsRowsWithoutTargets) {
  std::mt19937 rng(12);
  const int64_t N = 11, D = 6, V = 9;
  std::vector<float> h(N * D), W(V * D);
  for (auto& x : h) x = float(std::normal_distribution<double>(0, 1)(rng));
  for (auto& x : W) x = float(std::normal_distribution<double>(0, 1)(rng));
  const std::vector<int32_t> tg = {-1, 3, -1, -1, 0, 8, -1, 2, 5, -1, 1};
  std::vector<float> hc;
  std::vector<int32_t> tc;
  for (int64_t r = 0; r < N; ++r)
    if (tg[size_t(r)] >= 0) {
      hc.insert(hc.end(), h.begin() + r * D, h.begin() + (r + 1) * D);
      tc.push_back(tg[size_t(r)]);
    }
  const int64_t S = int64_t(tc.size());
  for (int64_t block : {2, 3, 64}) {
    std::vector<float> dh(N * D, 7.f), dW(V * D, 0.f), dhc(S * D), dWc(V * D, 0.f);
    std::vector<double> ce(N, 7.0), cec(S);
    LmHeadLossArgs<float> a{h.data(), N, D, W.data(), V, tg.data(), 0.25, 1e-3};
    a.dh = dh.data(), a.dW = dW.data(), a.row_ce = ce.data(), a.block = block;
    LmHeadLossArgs<float> c{hc.data(), S, D, W.data(), V, tc.data(), 0.25, 1e-3};
    c.dh = dhc.data(), c.dW = dWc.data(), c.row_ce = cec.data(), c.block = block;
    const auto ra = lm_head_loss(a), rc = lm_head_loss(c);
    EXPECT_EQ(ra.count, S);
    EXPECT_EQ(ra.ce_sum, rc.ce_sum);
    EXPECT_EQ(ra.z_sum, rc.z_sum);
    EXPECT_EQ(dW, dWc);
    for (int64_t r = 0, k = 0; r < N; ++r) {
      const bool scored = tg[size_t(r)] >= 0;
      EXPECT_EQ(ce[size_t(r)], scored ? cec[size_t(k)] : 0.0) << "row " << r;
      for (int64_t d = 0; d < D; ++d)
        EXPECT_EQ(dh[size_t(r * D + d)], scored ? dhc[size_t(k * D + d)] : 0.f) << "row " << r;
      k += scored;
    }
  }
}

TEST(Backward, Linear) {
  std::mt19937 rng(11);
  const int64_t M = 3, in = 4, out = 5;
  Vec x = randn(rng, M * in), W = randn(rng, out * in), wy = randn(rng, M * out);
  auto f = [&] {
    double s = 0;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t o = 0; o < out; ++o)
        for (int64_t i = 0; i < in; ++i) s += wy[m * out + o] * x[m * in + i] * W[o * in + i];
    return s;
  };
  Vec dx(M * in), dW(out * in, 0.0);
  linear_backward_input<double>(wy.data(), M, out, W.data(), out, in, dx.data(), in, 0.0);
  linear_backward_weight<double>(wy.data(), M, out, x.data(), in, dW.data(), out, in);
  EXPECT_LT(fd_rel_err(f, x, dx), kTol);
  EXPECT_LT(fd_rel_err(f, W, dW), kTol);
}

// ---- the double twins agree with the f32 production forwards ----

std::vector<float> to_f(const Vec& v) { return std::vector<float>(v.begin(), v.end()); }
void expect_close(const std::vector<float>& got, const Vec& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

TEST(Twins, MatchProductionForwards) {
  std::mt19937 rng(12);
  {
    const int64_t rows = 3, n = 5;
    Vec x = randn(rng, rows * n), w = uniform(rng, n, 0.5, 1.5), z = randn(rng, rows * n), y;
    rmsnorm_d(x, w, y, rows, n, 1e-6, n);
    auto xf = to_f(x), wf = to_f(w), yf = xf;
    rmsnorm(xf.data(), wf.data(), yf.data(), rows, n, 1e-6f);
    expect_close(yf, y, 1e-5);
    gated_d(x, z, w, y, rows, n, 1e-5);
    auto zf = to_f(z);
    gated_rmsnorm(xf.data(), zf.data(), wf.data(), yf.data(), rows, n, 1e-5f);
    expect_close(yf, y, 1e-5);
    l2_d(x, y, rows, 1, n, n, 1e-6, 0.5);
    yf = xf;
    l2norm_scale(yf.data(), rows, 1, n, n, 1e-6f, 0.5f);
    expect_close(yf, y, 1e-5);
  }
  {
    const int64_t T = 9, C = 3, K = 4;
    Vec x = randn(rng, T * C), w = randn(rng, C * K, 0.5), y;
    conv_d(x, T, C, w, K, y);
    auto xf = to_f(x), wf = to_f(w);
    std::vector<float> state((K - 1) * C, 0.f), yf(T * C);
    short_conv_silu(xf.data(), T, C, state.data(), wf.data(), K, yf.data());
    expect_close(yf, y, 1e-5);
  }
  {
    const int64_t T = 5, heads = 2, hd = 8, ld = 16;
    Vec x = randn(rng, T * ld), y = x;
    rope_d(y, T, heads, hd, ld, 3, 10000.0);
    auto xf = to_f(x);
    rope_apply(xf.data(), T, heads, hd, ld, 3, 10000.0);
    expect_close(xf, y, 1e-5);
  }
  {
    const int64_t T = 7, H = 4, Hkv = 2, hd = 4;
    Vec q = randn(rng, T * H * hd), k = randn(rng, Hkv * T * hd), v = randn(rng, Hkv * T * hd), o;
    attn_d(q, H * hd, k, v, o, T, H, Hkv, hd, 0.5);
    auto qf = to_f(q), kf = to_f(k), vf = to_f(v);
    std::vector<float> of(T * H * hd);
    AttentionArgs a{qf.data(), H * hd, kf.data(), vf.data(), T * hd, of.data(), H * hd, T, H, Hkv, hd, 0, 0.5f};
    attention_causal(a);
    expect_close(of, o, 1e-5);
  }
}

}  // namespace
}  // namespace hyb
