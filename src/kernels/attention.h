// Causal softmax attention over a KV cache, tiled with an online softmax so T×T scores never exist in memory.
#pragma once
#include <cstdint>

namespace hyb {

struct AttentionArgs {
  const float* q;       // [T, H, hd], row stride ldq
  int64_t ldq;
  const float* k;       // cache: key of kv-head g at position p is k + g*kv_head_stride + p*hd
  const float* v;       // same layout as k
  int64_t kv_head_stride;
  float* out;           // [T, H, hd], row stride ldo
  int64_t ldo;
  int64_t T, H, Hkv, hd;
  int64_t past;         // query t sits at position past + t and sees keys 0 .. past + t
  float scale;
  // A BF16 KV cache (bit patterns, same layout): when set, k and v are not read. Math stays f32.
  const uint16_t* kb = nullptr;
  const uint16_t* vb = nullptr;
};

void attention_causal(const AttentionArgs& a);

// O(T²)-memory reference used by tests.
void attention_causal_reference(const AttentionArgs& a);

}  // namespace hyb
