// Backward of causal softmax attention (GQA), recompute-based: each query row's probabilities are rebuilt from
// q·k, so nothing of size T×T is stored. Same layout conventions as AttentionArgs (past = 0: training).
#pragma once
#include <cstdint>

namespace hyb {

template <class F>
struct AttentionBackwardArgs {
  const F* q; int64_t ldq;       // [T, H, hd], row stride ldq
  const F* k; const F* v;        // kv-head g at position p: k + g·kv_head_stride + p·hd
  int64_t kv_head_stride;
  const F* out; int64_t ldo;     // forward output [T, H, hd]
  const F* dout; int64_t lddo;   // its gradient
  F* dq; int64_t lddq;           // written
  F* dk; F* dv;                  // written, same layout as k / v
  int64_t T, H, Hkv, hd;
  F scale;
};

template <class F> void attention_causal_backward(const AttentionBackwardArgs<F>& a);

}  // namespace hyb
