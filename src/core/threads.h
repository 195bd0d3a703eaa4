// Thread-count control for OpenMP regions and OpenBLAS together (one pool: the OpenMP build of OpenBLAS).
#pragma once

namespace hyb {

// n <= 0 means "all cores". Returns the count in effect.
int set_threads(int n);
int num_threads();

}  // namespace hyb
