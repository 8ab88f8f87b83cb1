// Generated tokens to output text, as it can be shown: pieces joined into whole UTF-8 characters,
// and stop strings cut (nothing from a stop string on is ever returned).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "llm/stop_sequences.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8_stream.h"

namespace rockllm {

class TextStream {
public:
    // drop_leading_space: remove the space in front of the first text (generation from BOS alone,
    // where that space is the one encoding would have added).
    TextStream(const Tokenizer& tokenizer, std::vector<std::string> stops, bool drop_leading_space = false);

    std::string push(int32_t token);
    // At the end of generation: what was held back.
    std::string finish();
    bool stopped() const { return stops_.stopped(); }

private:
    const Tokenizer& tokenizer_;
    Utf8Stream utf8_;
    StopSequenceFilter stops_;
    bool drop_leading_space_;
};

}  // namespace rockllm
