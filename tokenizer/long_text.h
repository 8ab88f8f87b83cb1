// Tokenizing only the part of a long text that will be used. A prompt longer than the context
// keeps its first token and its last tokens, an embedding input its first tokens: tokenizing a
// 50 MB prompt whole costs gigabytes of memory for tokens that are then thrown away. A token
// covers at most longest_piece_bytes(tokenizer) bytes of text, so a piece of text that long per
// token wanted holds at least that many tokens; only that piece is tokenized, and the tokens near
// the cut (the ones a cut could change) are among those dropped anyway.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace rockllm {

// The most text bytes one token stands for (special tokens included, as prompts parse them).
size_t longest_piece_bytes(const Tokenizer& tokenizer);

// encode(text, add_special, parse_special=true) where only its first token and its last
// `last_tokens` tokens matter: the whole when it is short, else the first token followed by the
// tokens of a tail of the text that gives more than last_tokens of them.
std::vector<int32_t> encode_keeping_end(const Tokenizer& tokenizer, std::string_view text, size_t last_tokens, size_t longest_piece);

// encode(text, add_special=true, parse_special=true) where only its first `first_tokens` tokens
// matter: the whole when it is short, else the tokens of a head of the text that gives more.
std::vector<int32_t> encode_keeping_start(const Tokenizer& tokenizer, std::string_view text, size_t first_tokens, size_t longest_piece);

// The text cut to at most max_bytes (at character boundaries): its first 4 KiB (a quarter, when less) and its end. For
// texts of which only the start and the end are used, cut before they are copied about
// (templates render prompts more than once); max_bytes must leave the end enough bytes for the
// tokens wanted from it (several times tokens × longest_piece_bytes).
std::string shorten_keeping_ends(std::string text, size_t max_bytes);

}  // namespace rockllm
