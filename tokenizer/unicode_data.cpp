#include "tokenizer/unicode_data.h"

#include <algorithm>
#include <iterator>

namespace rockllm::unicode {

namespace {

#include "tokenizer/unicode_tables.inc"

template <size_t N>
bool in_ranges(const uint32_t (&ranges)[N][2], uint32_t cp) {
    const auto* it = std::upper_bound(std::begin(ranges), std::end(ranges), cp,
                                      [](uint32_t c, const uint32_t(&range)[2]) { return c < range[0]; });
    return it != std::begin(ranges) && cp <= (*(it - 1))[1];
}

// Rows sorted by their first column, the code point.
template <size_t N, size_t W>
const uint32_t* find_row(const uint32_t (&rows)[N][W], uint32_t cp) {
    const auto* it = std::lower_bound(std::begin(rows), std::end(rows), cp,
                                      [](const uint32_t(&row)[W], uint32_t c) { return row[0] < c; });
    return it != std::end(rows) && (*it)[0] == cp ? *it : nullptr;
}

// Hangul syllables decompose by arithmetic (The Unicode Standard, section 3.12).
constexpr uint32_t kSyllableBase = 0xAC00, kLeadBase = 0x1100, kVowelBase = 0x1161, kTrailBase = 0x11A7;
constexpr uint32_t kVowelCount = 21, kTrailCount = 28, kSyllableCount = 19 * kVowelCount * kTrailCount;

}  // namespace

std::vector<uint32_t> code_points(std::string_view s) {
    std::vector<uint32_t> out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        const auto lead = static_cast<uint8_t>(s[i]);
        const size_t length = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 0;
        uint32_t cp = length == 1 ? lead : length == 2 ? lead & 0x1F : length == 3 ? lead & 0x0F : lead & 0x07;
        bool valid = length > 0 && i + length <= s.size();
        for (size_t k = 1; valid && k < length; ++k) {
            const auto next = static_cast<uint8_t>(s[i + k]);
            valid = (next & 0xC0) == 0x80;
            cp = (cp << 6) | (next & 0x3F);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not characters either.
        static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
        valid = valid && cp >= kSmallest[length] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        out.push_back(valid ? cp : 0xFFFD);
        i += valid ? length : 1;
    }
    return out;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

bool is_other(uint32_t cp) { return in_ranges(kOtherRanges, cp); }
bool is_whitespace(uint32_t cp) { return in_ranges(kWhitespaceRanges, cp); }
bool is_punctuation(uint32_t cp) { return in_ranges(kPunctuationRanges, cp); }
bool is_nonspacing_mark(uint32_t cp) { return in_ranges(kNonspacingMarkRanges, cp); }

void append_without_accents(std::vector<uint32_t>& out, uint32_t cp) {
    if (cp >= kSyllableBase && cp < kSyllableBase + kSyllableCount) {
        const uint32_t index = cp - kSyllableBase;
        out.push_back(kLeadBase + index / (kVowelCount * kTrailCount));
        out.push_back(kVowelBase + index % (kVowelCount * kTrailCount) / kTrailCount);
        if (index % kTrailCount != 0) out.push_back(kTrailBase + index % kTrailCount);
        return;
    }
    if (is_nonspacing_mark(cp)) return;
    if (const uint32_t* row = find_row(kStrippedDecompositions, cp)) {
        for (int k = 1; k < 4 && row[k] != 0; ++k) out.push_back(row[k]);
        return;
    }
    out.push_back(cp);
}

uint32_t to_lower(uint32_t cp) {
    const uint32_t* row = find_row(kLowercase, cp);
    return row ? row[1] : cp;
}

}  // namespace rockllm::unicode
