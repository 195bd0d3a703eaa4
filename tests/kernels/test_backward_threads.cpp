// The backward kernels that sum weight gradients over rows keep one partial sum per thread on large inputs.
// test_backward.cpp checks them against finite differences on small inputs (one thread); here large float64
// inputs run with 1 and with 3 threads and must agree to rounding, so the partial-sum paths are covered too.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "kernels/norms_backward.h"
#include "kernels/short_conv_backward.h"

namespace hyb {
namespace {

using Vec = std::vector<double>;

Vec randn(std::mt19937& rng, size_t n) {
  std::normal_distribution<double> d(0.0, 1.0);
  Vec v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

double max_rel_diff(const Vec& a, const Vec& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::abs(a[i] - b[i]));
    den = std::max(den, std::abs(a[i]));
  }
  return num / den;
}

// Runs f with 1 and with 3 threads; f fills the outputs it is given.
void same_with_threads(const std::function<void(std::vector<Vec*>)>& f, std::vector<Vec> one, std::vector<Vec> three) {
  const int saved = omp_get_max_threads();
  std::vector<Vec*> p1, p3;
  for (auto& v : one) p1.push_back(&v);
  for (auto& v : three) p3.push_back(&v);
  omp_set_num_threads(1);
  f(p1);
  omp_set_num_threads(3);
  f(p3);
  omp_set_num_threads(saved);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_LT(max_rel_diff(one[i], three[i]), 1e-12) << "output " << i;
}

TEST(BackwardThreads, RmsNorm) {
  std::mt19937 rng(1);
  const int64_t rows = 300, n = 40;
  const Vec x = randn(rng, rows * n), w = randn(rng, n), dy = randn(rng, rows * n);
  const Vec init_dw = randn(rng, n);
  same_with_threads(
      [&](std::vector<Vec*> o) {
        rmsnorm_backward<double>(x.data(), w.data(), dy.data(), o[0]->data(), o[1]->data(), rows, n, 1e-6);
      },
      {Vec(rows * n), init_dw}, {Vec(rows * n), init_dw});
}

TEST(BackwardThreads, GatedRmsNorm) {
  std::mt19937 rng(2);
  const int64_t rows = 300, n = 24;
  const Vec o = randn(rng, rows * n), z = randn(rng, rows * n), w = randn(rng, n), dy = randn(rng, rows * n);
  same_with_threads(
      [&](std::vector<Vec*> out) {
        gated_rmsnorm_backward<double>(o.data(), z.data(), w.data(), dy.data(), out[0]->data(), out[1]->data(),
                                       out[2]->data(), rows, n, 1e-5);
      },
      {Vec(rows * n), Vec(rows * n), Vec(n, 0.5)}, {Vec(rows * n), Vec(rows * n), Vec(n, 0.5)});
}

TEST(BackwardThreads, ShortConvSilu) {
  std::mt19937 rng(3);
  const int64_t T = 301, C = 160, K = 4;  // T·C above the kernel's threading threshold
  const Vec x = randn(rng, T * C), w = randn(rng, C * K), dout = randn(rng, T * C);
  same_with_threads(
      [&](std::vector<Vec*> o) {
        short_conv_silu_backward<double>(x.data(), T, C, w.data(), K, dout.data(), o[0]->data(), o[1]->data());
      },
      {Vec(T * C), Vec(C * K, 0.25)}, {Vec(T * C), Vec(C * K, 0.25)});
}

}  // namespace
}  // namespace hyb
