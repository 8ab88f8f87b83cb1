// SentencePiece's precompiled character map (the normalizer of unigram vocabularies, NFKC and the
// like): <trie size, 4 bytes little-endian><darts-clone double-array trie><NUL-terminated
// replacement strings>. The sentencepiece library follows the trie's offsets without bounds checks,
// so a map from a GGUF is checked here first: a hostile file must not make it read outside the blob.
#pragma once

#include <string_view>

namespace rockllm {

// Throws gguf::FormatError saying what is wrong when any transition of the trie could leave the
// array, a replacement string lies outside the blob, or the strings are not terminated.
void check_precompiled_charsmap(std::string_view blob);

}  // namespace rockllm
