// The SwiGLU MLP of every layer: out = down(silu(gate(in)) ⊙ up(in)); gate|up run as one [N, 2I] projection.
#pragma once
#include "model/layer_context.h"

namespace hyb {

// out [N, D] = MLP(in); keeps gate|up and the SwiGLU output in A.
void mlp_forward(const LayerCtx& c, LayerActs& A, const float* in, float* out);
// din [N, D] = d/d(in) given dout; weight gradients accumulate into G.
void mlp_backward(const LayerCtx& c, LayerActs& A, const float* dout, const float* in, float* din, LayerParams& G);

}  // namespace hyb
