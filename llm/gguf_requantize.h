// Re-quantizing an unquantized GGUF (F32, F16, BF16 weights) into the mixes `ollama create
// --quantize` offers (q8_0, q4_K_S, q4_K_M), with this project's round-to-nearest quantizers. Each
// tensor's type follows llama.cpp's choice for the mix (llama_tensor_get_type): matrices take the
// mix's type, the output matrix and some attn_v / ffn_down layers more bits, vectors stay as they
// are, and a row that does not fit the K-quant blocks falls back to a legacy type.
#pragma once

#include <cstdint>
#include <string>

#include "llm/gguf.h"

namespace rockllm::gguf {

enum class QuantizeMix { Q8_0, Q4_K_S, Q4_K_M };

// Ollama's names, case-insensitively ("q4_K_M", "Q4_K" = Q4_K_M, "q4_k_s", "q8_0"); throws
// std::invalid_argument with Ollama's text for others ("unsupported quantization type ...").
QuantizeMix parse_quantize_mix(const std::string& name);
std::string quantize_mix_name(QuantizeMix mix);  // "Q4_K_M"

// llama.cpp's use_more_bits: the layers whose attn_v and ffn_down get more bits in the _M mixes
// (the first and last eighth, and every third in between).
bool uses_more_bits(int64_t layer, int64_t n_layer);
// K formats need rows in multiples of 256: like llama.cpp, other rows take a 32-block type (and
// rows that fit no block, F16).
GgmlType fitting_type(GgmlType type, int64_t row);

// The type a tensor of `file` gets in the mix.
GgmlType requantized_type(const File& file, const TensorInfo& tensor, QuantizeMix mix);

// Writes the re-quantized file to out_path (atomically). Throws std::invalid_argument ("quantization
// is only supported for F16, BF16 and F32 models") when a matrix is already quantized.
void requantize(const File& in, QuantizeMix mix, const std::string& out_path);

}  // namespace rockllm::gguf
