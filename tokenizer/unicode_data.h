// The Unicode character data the WordPiece tokenizer needs (general categories, canonical
// decomposition without accents, lowercase), from tables tools/gen-unicode-tables.py generates,
// and UTF-8 code points.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rockllm::unicode {

// The code points of UTF-8 text; a byte that does not start a valid sequence becomes U+FFFD.
std::vector<uint32_t> code_points(std::string_view utf8);
void append_utf8(std::string& out, uint32_t cp);

bool is_other(uint32_t cp);            // general category C*: control, format, unassigned, ...
bool is_whitespace(uint32_t cp);       // Unicode White_Space (as Python's str.isspace)
bool is_punctuation(uint32_t cp);      // general category P*
bool is_nonspacing_mark(uint32_t cp);  // general category Mn: the accents NFD separates

// The canonical decomposition (NFD) of cp without its nonspacing marks, appended to out: "é" gives
// "e", a Hangul syllable its jamo, a mark nothing.
void append_without_accents(std::vector<uint32_t>& out, uint32_t cp);
// The lowercase of cp (the first code point where the full mapping has two).
uint32_t to_lower(uint32_t cp);

}  // namespace rockllm::unicode
