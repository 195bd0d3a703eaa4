// A full-attention layer (spec §2.4): x += norm(o_proj(attention(rope(norm(q)), rope(norm(k)), v))); then
// x += norm(MLP(x)). A segment with a cache appends its K/V there and attends over everything the cache holds;
// a fresh segment attends within itself (packed documents never see each other).
#pragma once
#include "model/layer_context.h"

namespace hyb {

void attention_layer_forward(const LayerCtx& c, LayerActs& A, float* x);
void attention_layer_backward(const LayerCtx& c, LayerActs& A, float* dx, LayerParams& G);

}  // namespace hyb
