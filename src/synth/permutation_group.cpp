#include "synth/permutation_group.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace hyb {

GroupTable cyclic_group(int32_t n) {
  GroupTable g;
  g.n = n;
  g.mul.resize(size_t(n) * size_t(n));
  for (int32_t a = 0; a < n; ++a)
    for (int32_t b = 0; b < n; ++b) g.mul[size_t(a * n + b)] = (a + b) % n;
  return g;
}

GroupTable symmetric_group(int32_t k) {
  std::vector<std::vector<int32_t>> perms;
  std::vector<int32_t> p(static_cast<size_t>(k));
  std::iota(p.begin(), p.end(), 0);
  do perms.push_back(p);
  while (std::next_permutation(p.begin(), p.end()));
  std::map<std::vector<int32_t>, int32_t> index;
  for (size_t i = 0; i < perms.size(); ++i) index[perms[i]] = int32_t(i);
  GroupTable g;
  g.n = int32_t(perms.size());
  g.mul.resize(perms.size() * perms.size());
  std::vector<int32_t> c(static_cast<size_t>(k));
  for (size_t a = 0; a < perms.size(); ++a)
    for (size_t b = 0; b < perms.size(); ++b) {
      for (int32_t i = 0; i < k; ++i) c[size_t(i)] = perms[b][size_t(perms[a][size_t(i)])];  // i ↦ b(a(i))
      g.mul[a * perms.size() + b] = index.at(c);
    }
  return g;
}

}  // namespace hyb
