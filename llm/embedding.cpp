#include "embedding.h"

#include <cmath>
#include <stdexcept>

#include "model_config.h"

namespace rockllm {

bool is_embedding_file(const gguf::File& file) {
    const std::string arch = file.metadata().get_or<std::string>("general.architecture", "");
    return is_encoder_architecture(arch) || file.metadata().contains(arch + ".pooling_type");
}

Pooling pooling_for(const gguf::File& file) {
    const std::string arch = file.metadata().get<std::string>("general.architecture");
    switch (file.metadata().get_or<uint32_t>(arch + ".pooling_type", 1)) {
        case 1: return Pooling::Mean;
        case 2: return Pooling::Cls;
        case 3: return Pooling::Last;
        default: throw gguf::FormatError("'" + arch + ".pooling_type' is not a pooling this build supports");
    }
}

std::vector<float> pool_hidden_states(std::span<const float> hidden, size_t n_tokens, Pooling pooling, bool normalize) {
    if (n_tokens == 0 || hidden.size() % n_tokens != 0) throw std::invalid_argument("hidden states of no tokens, or of rows of unequal width");
    const size_t width = hidden.size() / n_tokens;
    std::vector<float> out(width, 0.0f);
    switch (pooling) {
        case Pooling::Mean:
            for (size_t t = 0; t < n_tokens; ++t)
                for (size_t i = 0; i < width; ++i) out[i] += hidden[t * width + i];
            for (float& v : out) v /= static_cast<float>(n_tokens);
            break;
        case Pooling::Cls: out.assign(hidden.begin(), hidden.begin() + static_cast<std::ptrdiff_t>(width)); break;
        case Pooling::Last: out.assign(hidden.end() - static_cast<std::ptrdiff_t>(width), hidden.end()); break;
    }
    if (normalize) {
        double sum = 0;
        for (float v : out) sum += double(v) * v;
        const float inv = sum > 0 ? static_cast<float>(1.0 / std::sqrt(sum)) : 0.0f;
        for (float& v : out) v *= inv;
    }
    return out;
}

std::vector<float> embed(Transformer& engine, Sequence& sequence, std::span<const int32_t> tokens, Pooling pooling,
                         bool normalize) {
    if (tokens.empty()) throw std::invalid_argument("nothing to embed: no tokens");
    return pool_hidden_states(engine.hidden_states(sequence, tokens, 0), tokens.size(), pooling, normalize);
}

}  // namespace rockllm
