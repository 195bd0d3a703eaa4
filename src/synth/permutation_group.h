// Finite groups as multiplication tables over element indices 0..n−1 (0 = identity): Z2 for parity and the
// symmetric groups S3, S5 for permutation composition, whose word problem needs a state that can count
// non-commutatively (S5 is not solvable: the NC¹-complete case).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hyb {

struct GroupTable {
  int32_t n = 0;
  std::vector<int32_t> mul;  // mul[a * n + b] = a · b: apply a, then b
  int32_t operator()(int32_t a, int32_t b) const { return mul[size_t(a) * size_t(n) + size_t(b)]; }
};

GroupTable cyclic_group(int32_t n);
// S_k with elements in lexicographic order of their one-line notation (index 0 = identity).
GroupTable symmetric_group(int32_t k);

}  // namespace hyb
