// The FP32 matrix-multiply rate this machine delivers right now, the denominator of an honest MFU on a shared
// machine (the documented peak is reported beside it).
#pragma once

#include "kernels/gemm_mixed.h"

namespace hyb {

// GFLOP/s of a square OpenBLAS SGEMM of size n, best of `reps` after one untimed call, at the current thread count.
double measure_sgemm_gflops(int n = 2048, int reps = 3);
// The same for either product precision: BF16 = the mixed-precision GEMM training uses (operands rounded to
// bf16 while packed, AVX512-BF16 dot products), the peak a BF16 training step is measured against.
double measure_gemm_gflops(int n, int reps, Precision p);

}  // namespace hyb
