// IEEE half and bfloat16 conversions, shared by the engine (F16/BF16 tensors, the KV cache) and
// the NPU (fp16 operands).
#pragma once

#include <cstdint>

namespace rockllm {

// Round to nearest even when narrowing.
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);
float bf16_to_fp32(uint16_t b);

}  // namespace rockllm
