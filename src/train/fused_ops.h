// Training-side forward variants of inference kernels, reshaped for whole batches: every sequence starts from a
// zero state, so B sequences run as one parallel loop, and channel loops are unit-stride so they vectorise.
// They compute the same functions as short_conv_silu / swiglu_inplace (kernels/) up to float rounding.
#pragma once
#include <cstdint>

namespace hyb {

// out = silu(causal depthwise conv(x)) for B sequences of T rows of C channels, each from a zero conv state.
// w: [C, K] (HF layout), x/out: [B·T, C].
void short_conv_silu_batch(const float* x, int64_t B, int64_t T, int64_t C, const float* w, int64_t K, float* out);

// h = silu(gate) ⊙ up over n elements.
void swiglu_into(const float* gate, const float* up, float* h, int64_t n);

// The same on rows of a fused [rows, 2I] gate|up projection (one GEMM for both): h [rows, I].
void swiglu_rows(const float* gu, int64_t rows, int64_t I, float* h);
// Its backward: dgu [rows, 2I] = (d/dgate | d/dup) given dh [rows, I].
void swiglu_rows_backward(const float* gu, const float* dh, int64_t rows, int64_t I, float* dgu);

}  // namespace hyb
