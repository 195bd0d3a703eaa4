// What every layer's forward and backward get: the batch's row layout, the layer's weights, where to keep the
// activations a backward needs, and scratch. One forward per layer kind serves inference, decode, training and
// evaluation; `save` (training) only decides whether the activations outlive the call.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "core/parallel.h"
#include "io/model_config.h"
#include "model/batch.h"
#include "model/weights.h"

namespace hyb {

struct LayerCache;
struct LayerParams;

// The stacked rows of a batch: segment i owns rows [row0[i], row0[i] + segs[i].n).
struct BatchRows {
  std::span<const Segment> segs;
  std::vector<int64_t> row0;
  int64_t rows = 0;
  std::vector<RowGroup> groups;  // projection groups over all rows
  // Runs [first, first + count) of consecutive fresh segments with the same length: kernels that take B equal
  // sequences (training attention) run once per run instead of once per segment.
  struct Run {
    size_t first = 0, count = 0;
  };
  std::vector<Run> fresh_runs;
};

// Activations of one layer, all [rows, ·] row-major; which are used depends on the layer kind. Without a backward
// one LayerActs is shared by all layers as scratch.
struct LayerActs {
  std::vector<float> x;                 // layer input (kept only for a backward)
  std::vector<float> u;                 // GDN: input_layernorm(x)
  std::vector<float> qkv;               // GDN: conv input q|k|v [N, conv_dim]; attn: q_raw [N, q_dim]
  std::vector<float> cv;                // GDN: silu(conv) before the l2 norms; attn: k_raw [N, kv_dim]
  std::vector<float> qkn;               // GDN: l2-normalised q̂|k̂|v [N, conv_dim]; attn: v [N, kv_dim]
  std::vector<float> braw, araw;        // GDN: b_proj, a_proj outputs [N, Hv]
  std::vector<float> beta, g;           // GDN: gates [N, Hv]
  std::vector<float> o, z, nrm;         // GDN: core output, gate, gated-norm output [N, value_dim]
  std::vector<float> qr, kh;            // attn: q, k after norm+RoPE [N, q_dim] / [N, kv_dim]
  std::vector<float> lse;               // attn: softmax log-sum-exp, [H, n] per fresh segment at H·row0
  std::vector<float> att, ap;           // attn: attention output [N, q_dim], o_proj output [N, D]
  std::vector<float> x1;                // after the mixer's residual add (kept only for a backward)
  std::vector<float> u2;                // GDN: post_attention_layernorm(x1) (MLP input)
  std::vector<float> mg, mh, m;         // MLP: gate|up [N, 2I], silu(gate)·up [N, I]; attn: MLP output [N, D]
};

// Buffers that live only within one layer call (kept across calls so steps do not re-fault fresh pages).
struct LayerScratch {
  std::vector<float> dx1, du, dD;             // [N, D]
  std::vector<float> dI1, dI2;                // MLP [N, I] / [N, 2I]
  std::vector<float> dn, d_o, dz;             // GDN [N, value_dim]
  std::vector<float> dcv, dqkv;               // GDN [N, conv_dim]
  std::vector<float> dbeta, dg, db, da;       // GDN [N, Hv]
  std::vector<float> dq, datt, dk, dv;        // attention [N, q_dim] / [N, kv_dim]
  std::vector<float> tmp, state, lse;         // forward: [N, D], one GDN state, lse when not saved
};

struct LayerCtx {
  const ModelConfig& cfg;
  const LayerWeights& L;
  size_t layer;              // index into each segment's cache
  const BatchRows& batch;
  bool save;                 // activations are kept for a backward (then every segment is fresh)
  LayerScratch& s;

  LayerCache* cache(size_t seg) const;  // the segment's cache for this layer, or null when fresh
};

// Grows (never shrinks) a reused buffer; contents are unspecified, every user writes before reading.
inline float* sized(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Residual-stream passes over [N, D]: memory-bound, so both threads' bandwidth is worth the fork.
inline void copy_par(const float* src, int64_t n, float* dst) {
  parallel_for(n, n > 65536, [=](int64_t i) { dst[i] = src[i]; });
}
// x += y, and save a copy of the new x when `save` is given.
inline void add_par(float* x, const float* y, int64_t n, float* save = nullptr) {
  parallel_for(n, n > 65536, [=](int64_t i) {
    x[i] += y[i];
    if (save) save[i] = x[i];
  });
}

}  // namespace hyb
