// The tensor element types a GGUF file can declare, with their storage geometry.
#pragma once

#include <cstdint>
#include <string>

namespace rockllm {

// Numeric ids as written in GGUF tensor infos (ggml's enum ggml_type).
enum class GgmlType : uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
    IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
    TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

// Elements are stored in blocks: block_size elements take block_bytes bytes.
struct GgmlTypeInfo {
    GgmlType type;
    const char* name;
    uint32_t block_size;
    uint32_t block_bytes;
};

// nullptr for an id that is not a known type (unknown or removed ids).
const GgmlTypeInfo* find_ggml_type(uint32_t id);
const GgmlTypeInfo& ggml_type_info(GgmlType type);
std::string ggml_type_name(GgmlType type);

}  // namespace rockllm
