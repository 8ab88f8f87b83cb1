// Embeddings: the model's final (normalised) hidden states pooled into one vector per input.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gguf.h"
#include "transformer.h"

namespace rockllm {

enum class Pooling { Mean, Cls, Last };

// Whether the file is an embedding model, as Ollama decides it: it has a pooling type; and here also
// an encoder's file without one (older conversions).
bool is_embedding_file(const gguf::File& file);

// From "<arch>.pooling_type" (1 mean, 2 CLS, 3 last). Decoder-only models without the key pool by
// mean, the choice that does not depend on where the text ends.
Pooling pooling_for(const gguf::File& file);

// Pools n_tokens rows of hidden states (each hidden.size() / n_tokens floats) into one vector;
// normalize scales the result to unit L2 length.
std::vector<float> pool_hidden_states(std::span<const float> hidden, size_t n_tokens, Pooling pooling, bool normalize);

// Runs the tokens from position 0 (the sequence's cache is overwritten) and pools the final
// hidden states; normalize scales the result to unit L2 length.
std::vector<float> embed(Transformer& engine, Sequence& sequence, std::span<const int32_t> tokens, Pooling pooling,
                         bool normalize = true);
inline std::vector<float> embed(Transformer& transformer, std::span<const int32_t> tokens, Pooling pooling, bool normalize = true) {
    return embed(transformer, transformer.sequence(), tokens, pooling, normalize);
}

}  // namespace rockllm
