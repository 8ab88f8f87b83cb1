// Converting rows between float and every supported GGUF tensor type.
#pragma once

#include <cstdint>

#include "llm/ggml_type.h"

namespace rockllm::quant {

// Types with a dequantizer and a quantizer here.
bool is_supported(GgmlType type);

// dst receives n floats; n must be a multiple of the type's block size.
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);

// Writes n / block_size blocks. These are plain round-to-nearest quantizers (no importance search),
// good enough for tests and synthetic models; real models come quantized.
void quantize_row(GgmlType type, const float* src, void* dst, int64_t n);

}  // namespace rockllm::quant
