// ASCII case folding, for what is compared without regard to case: model names, digests, roles,
// host names. Independent of the C locale, unlike std::tolower.
#pragma once

#include <string>

namespace rockllm {

inline std::string ascii_lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

}  // namespace rockllm
