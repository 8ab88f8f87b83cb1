// Byte-level BPE pre-tokenization: the regular expressions (chosen by tokenizer.ggml.pre) that cut
// text into words before BPE merges apply, matched with PCRE2 in UTF + Unicode-property mode.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rockllm {

class PreTokenizer {
public:
    // Throws std::runtime_error for a pre-tokenizer name this build does not know.
    explicit PreTokenizer(const std::string& name);
    ~PreTokenizer();
    PreTokenizer(PreTokenizer&&) noexcept;

    // Each expression splits every piece so far into its matches and the text between them
    // (nothing is dropped), as llama.cpp does; bytes that are not valid UTF-8 end up between matches.
    std::vector<std::string> split(std::string_view text) const;

    // Llama 3 style: a word that is itself a token is emitted without merging.
    bool ignore_merges() const { return ignore_merges_; }

private:
    struct Regex;
    std::vector<std::unique_ptr<Regex>> expressions_;
    bool ignore_merges_ = false;
};

}  // namespace rockllm
