// Causal softmax attention for training (whole sequences, no KV cache), GEMM-shaped: per (sequence, head) and
// block of query rows, S = Q Kᵀ is one SGEMM over the keys the block can see, the masked softmax runs on S in
// place, and O = P V is a second SGEMM. The forward saves each row's log-sum-exp so the backward rebuilds P with
// one exp per score instead of a second max/sum pass.
#pragma once
#include <cstdint>

namespace hyb {

struct AttentionTrainArgs {
  // B sequences of T rows each, sequence b at row b·T. Head h of row r: q + r·ldq + h·hd; kv-head g: k/v + r·ldkv
  // + g·hd. H must be a multiple of Hkv (grouped-query attention).
  const float* q; int64_t ldq;
  const float* k; const float* v; int64_t ldkv;
  int64_t B, T, H, Hkv, hd;
  float scale;
};

// out: [B·T, ·] rows with stride ldo, head h at column h·hd. lse: [B, H, T] written.
void attention_train_forward(const AttentionTrainArgs& a, float* out, int64_t ldo, float* lse);

// Given the forward's out and lse and dout (same layout as out): dq (layout of q, stride lddq) and dk, dv
// (layout of k, stride lddkv) are overwritten.
void attention_train_backward(const AttentionTrainArgs& a, const float* out, int64_t ldo, const float* lse,
                              const float* dout, int64_t lddo, float* dq, int64_t lddq, float* dk, float* dv,
                              int64_t lddkv);

}  // namespace hyb
