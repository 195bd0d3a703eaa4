// SwiGLU over rows of a fused gate|up projection (one GEMM for both), the form the model core uses, and
// swiglu_into for separate buffers. They compute the same function as swiglu_inplace (kernels/activations.h)
// up to float rounding (a fast exp).
#pragma once
#include <cstdint>

namespace hyb {

// h = silu(gate) ⊙ up over n elements.
void swiglu_into(const float* gate, const float* up, float* h, int64_t n);

// The same on rows of a fused [rows, 2I] gate|up projection (one GEMM for both): h [rows, I].
void swiglu_rows(const float* gu, int64_t rows, int64_t I, float* h);
// Its backward: dgu [rows, 2I] = (d/dgate | d/dup) given dh [rows, I].
void swiglu_rows_backward(const float* gu, const float* dh, int64_t rows, int64_t I, float* dgu);

}  // namespace hyb
