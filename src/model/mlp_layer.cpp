#include "model/mlp_layer.h"

#include "core/phase_profile.h"
#include "kernels/fused_ops.h"
#include "kernels/linear_backward.h"
#include "model/layer_backward.h"
#include "model/param_tensors.h"
#include "model/projection.h"

namespace hyb {

void mlp_forward(const LayerCtx& c, LayerActs& A, const float* in, float* out) {
  PhaseProfile::Scope ps("mlp fwd");
  const int64_t N = c.batch.rows, D = c.cfg.hidden_size, I = c.cfg.intermediate_size;
  const LayerWeights& L = c.L;
  float* gu = sized(A.mg, size_t(N * 2 * I));
  project(c.batch.groups, in, D, {{&L.gate, gu, 2 * I}, {&L.up, gu + I, 2 * I}});
  float* h = sized(A.mh, size_t(N * I));
  swiglu_rows(gu, N, I, h);
  project(c.batch.groups, h, I, L.down, out, D);
}

void mlp_backward(const LayerCtx& c, LayerActs& A, const float* dout, const float* in, float* din, LayerParams& G) {
  PhaseProfile::Scope ps("mlp bwd");
  const int64_t N = c.batch.rows, D = c.cfg.hidden_size, I = c.cfg.intermediate_size;
  const LayerWeights& L = c.L;
  float* dh = sized(c.s.dI1, size_t(N * I));
  linear_bwd(dout, N, D, A.mh.data(), I, L.down, G.down, dh, I, false);
  float* dgu = sized(c.s.dI2, size_t(N * 2 * I));
  swiglu_rows_backward(A.mg.data(), dh, N, I, dgu);
  const WeightMat* ms[] = {&L.gate, &L.up};
  float* gs[] = {G.gate, G.up};
  const WeightMat Wgu = stacked_weights(ms, gs);
  if (Wgu.rows) {
    linear_bwd(dgu, N, 2 * I, in, D, Wgu, G.gate, din, D, false);
  } else {
    linear_bwd(dgu, N, 2 * I, in, D, L.gate, G.gate, din, D, false);
    linear_bwd(dgu + I, N, 2 * I, in, D, L.up, G.up, din, D, true);
  }
}

}  // namespace hyb
