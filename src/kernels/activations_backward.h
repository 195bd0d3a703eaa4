// Backward of the element-wise activations in activations.h (spec §5.3).
#pragma once
#include <cstdint>

namespace hyb {

// h = silu(gate) ⊙ up: dgate, dup from dh (gate, up are the forward inputs). dgate may alias dh.
template <class F>
void swiglu_backward(const F* gate, const F* up, const F* dh, F* dgate, F* dup, int64_t n);

// β = σ(b)·(2 if neg_eigval), g = −exp(A_log)·softplus(a + dt_bias) (threshold 20) for [T, Hv] raw b, a.
// db, da are written ([T, Hv]); dA_log, ddt_bias ([Hv]) accumulate.
template <class F>
void gdn_gates_backward(const F* b, const F* a, int64_t T, int64_t Hv, const F* A_log, const F* dt_bias,
                        bool neg_eigval, const F* dbeta, const F* dg, F* db, F* da, F* dA_log, F* ddt_bias);

}  // namespace hyb
