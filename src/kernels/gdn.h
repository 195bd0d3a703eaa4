// The gated delta rule (spec §2.5 G8, §5.1): per value head, state S [dk, dv],
//   S ← e^{g_t} S;  δ = β_t (v_t − Sᵀ k_t);  S ← S + k_t δᵀ;  o_t = Sᵀ q_t.
// q and k arrive l2-normalised (q also scaled by dk^-1/2). Value head j reads key head j / (Hv/Hk).
// Templated on the float type so tests can run the same code in double.
#pragma once
#include <cstdint>

namespace hyb {

template <class F>
struct GdnArgs {
  const F* q; int64_t ldq;   // [T, Hk, dk], row stride ldq
  const F* k; int64_t ldk;   // [T, Hk, dk]
  const F* v; int64_t ldv;   // [T, Hv, dv]
  const F* beta;             // [T, Hv]
  const F* g;                // [T, Hv], log-decay (≤ 0)
  F* state;                  // [Hv, dk, dv], read as the initial state, overwritten with the final one
  F* out; int64_t ldo;       // [T, Hv, dv]
  int64_t T, Hk, Hv, dk, dv;
};

// Token-by-token recurrence: decode, and the reference the chunked form is tested against.
template <class F> void gdn_recurrent(const GdnArgs<F>& a);

// Chunkwise-parallel form (UT transform / WY representation), chunk length `chunk` (64 in HF and FLA).
template <class F> void gdn_chunk_forward(const GdnArgs<F>& a, int64_t chunk = 64);

// The chunked forward with every product's operands rounded to bf16 (AVX512-BF16 dot products, f32
// accumulation; gates, decay mask, (I + A)⁻¹ and the state stay f32): kernels/gdn_chunk_bf16.h. Where the CPU
// lacks AVX512-BF16 (gdn_bf16_available() false) it runs gdn_chunk_forward.
bool gdn_bf16_available();
void gdn_chunk_forward_bf16(const GdnArgs<float>& a, int64_t chunk = 64);

// Process-wide choice of the model's GDN layers for prompt rows outside training (`--gdn-products`, default
// f32): true = gdn_chunk_forward_bf16. Training always runs the f32 chunk, whose backward rebuilds it.
void set_gdn_bf16(bool on);
bool gdn_bf16_selected();

// Gradients of the chunked form (spec §5.2). The forward inputs come in `a` (a.state = initial state, read only,
// null for zeros; a.out unused); the per-chunk states are recomputed, so memory is O(T/chunk · dk · dv) per head.
template <class F>
struct GdnGradArgs {
  const F* dout; int64_t lddo;   // [T, Hv, dv]
  const F* dstate_final;         // [Hv, dk, dv], or null when the final state is unused
  F* dq; int64_t lddq;           // [T, Hk, dk], written: summed over the value heads that share a key head
  F* dk; int64_t lddk;           // [T, Hk, dk], written
  F* dv; int64_t lddv;           // [T, Hv, dv], written
  F* dbeta;                      // [T, Hv], written
  F* dg;                         // [T, Hv], written
  F* dstate0;                    // [Hv, dk, dv] gradient of the initial state, or null
};
template <class F> void gdn_chunk_backward(const GdnArgs<F>& a, const GdnGradArgs<F>& d, int64_t chunk = 64);

}  // namespace hyb
