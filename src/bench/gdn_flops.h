// Floating-point operation counts of the chunked gated delta rule (kernels/gdn.h), the numerator of its GFLOP/s
// in `hybrid bench gdn`. Counted per chunk of n tokens and value head, as the products are specified (spec §5),
// not as the kernel happens to skip tiles: a Gram product on and below the diagonal counts 3/4 of the full
// product, a triangular solve or a product with a triangular matrix n²·N, a dense [M, K]·[K, N] product 2·M·N·K.
#pragma once
#include <algorithm>
#include <cstdint>

namespace hyb {

// Forward: K Kᵀ and Q Kᵀ (3n²dk), the solves for U and W (n²(dk + dv)), [W; Q] S0 (4n·dk·dv), P Vn (1.5n²dv:
// also counted at 3/4), S1 = K̃ᵀ Vn (2n·dk·dv). At n = 64 and dk = dv = 128: 151.6 kFLOP per token and head.
inline double gdn_forward_chunk_flops(double n, double dk, double dv) {
  return 3 * n * n * dk + n * n * (dk + dv) + 1.5 * n * n * dv + 6 * n * dk * dv;
}

// Backward (kernels/gdn_backward.cpp) including its forward rebuild of every chunk (Grams, solves, W S0 and the
// state advance: 3n²dk + n²(dk + dv) + 4n·dk·dv), then six n·dk·dv products (K̃ dS1, dO S0ᵀ, Vn dS1ᵀ, Q̃ᵀ dO,
// Wᵀ dVn, dVn S0ᵀ: 12n·dk·dv), four n²dv ones (Pᵀ dO, dO Vnᵀ, X Uᵀ: 6n²dv; the solve for X: n²dv) and six n²dk
// ones (dP K, dPᵀ Q, Y Wᵀ, M K: 8n²dk; the solve for Y: n²dk). At n = 64, 128 × 128: 434 kFLOP per token and head.
inline double gdn_backward_chunk_flops(double n, double dk, double dv) {
  return 16 * n * dk * dv + 13 * n * n * dk + 8 * n * n * dv;
}

// Sums over the chunks of a T-token sequence (the last one may be short) and `heads` value heads.
template <class PerChunk>
double gdn_flops(PerChunk per_chunk, int64_t T, int64_t heads, int64_t dk, int64_t dv, int64_t chunk) {
  double total = 0;
  for (int64_t c0 = 0; c0 < T; c0 += chunk) total += per_chunk(double(std::min(chunk, T - c0)), double(dk), double(dv));
  return total * double(heads);
}

}  // namespace hyb
