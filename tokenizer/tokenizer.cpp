#include "tokenizer/tokenizer.h"

#include <stdexcept>

#include "tokenizer/spm_tokenizer.h"

namespace rockllm {

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
    std::string text;
    for (int32_t id : ids) text += token_to_piece(id);
    if (vocab_.add_space_prefix && !text.empty() && text.front() == ' ') text.erase(0, 1);
    return text;
}

std::unique_ptr<Tokenizer> load_tokenizer(const gguf::File& file) {
    Vocabulary vocab = read_vocabulary(file);
    if (vocab.model == "llama") return std::make_unique<SpmTokenizer>(std::move(vocab));
    throw std::runtime_error("tokenizer kind '" + vocab.model + "' (tokenizer.ggml.model) is not supported yet");
}

}  // namespace rockllm
