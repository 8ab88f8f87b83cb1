#include "tokenizer/text_stream.h"

namespace rockllm {

TextStream::TextStream(const Tokenizer& tokenizer, std::vector<std::string> stops, bool drop_leading_space)
    : tokenizer_(tokenizer), stops_(std::move(stops)), drop_leading_space_(drop_leading_space) {}

std::string TextStream::push(int32_t token) {
    std::string text = utf8_.push(tokenizer_.token_to_piece(token));
    if (drop_leading_space_ && !text.empty()) {
        if (text.front() == ' ') text.erase(0, 1);
        drop_leading_space_ = false;
    }
    return stops_.push(text);
}

std::string TextStream::finish() { return stops_.push(utf8_.flush()) + stops_.flush(); }

}  // namespace rockllm
