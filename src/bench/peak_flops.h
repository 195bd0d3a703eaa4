// The FP32 matrix-multiply rate this machine delivers right now, the denominator of an honest MFU on a shared
// machine (the documented peak is reported beside it).
#pragma once

namespace hyb {

// GFLOP/s of a square OpenBLAS SGEMM of size n, best of `reps` after one untimed call, at the current thread count.
double measure_sgemm_gflops(int n = 2048, int reps = 3);

}  // namespace hyb
