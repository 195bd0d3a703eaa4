// A Gated DeltaNet layer (spec §2.5): x += o_proj(gated_norm(GDN(conv(qkv(norm(x)))), z)); x += MLP(norm(x)).
// Projections run over all rows of the batch; the short conv and the gated delta rule run per segment, from the
// segment's cache state (updated in place) or from zeros when it is fresh.
#pragma once
#include "model/layer_context.h"

namespace hyb {

void gdn_layer_forward(const LayerCtx& c, LayerActs& A, float* x);
// dx: [N, D] gradient of the layer output on entry, of its input on return. Needs the forward's saved A.
void gdn_layer_backward(const LayerCtx& c, LayerActs& A, float* dx, LayerParams& G);

}  // namespace hyb
