// Byte layouts of the GGUF block-quantized tensor types (as defined by ggml). A row of n elements
// is n / block_size consecutive blocks. Half-precision fields are raw IEEE fp16 bits.
#pragma once

#include <cstdint>

namespace rockllm::quant {

constexpr int kQK = 32;    // elements per block of the simple formats
constexpr int kQKK = 256;  // elements per super-block of the K formats

struct BlockQ4_0 {  // x = (q - 8) * d
    uint16_t d;
    uint8_t qs[kQK / 2];  // element j in the low nibble of qs[j], element j + 16 in the high nibble
};
struct BlockQ4_1 {  // x = q * d + m
    uint16_t d, m;
    uint8_t qs[kQK / 2];
};
struct BlockQ5_0 {  // x = (q - 16) * d; bit 4 of element j is bit j of qh
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {  // x = q * d + m
    uint16_t d, m;
    uint8_t qh[4];
    uint8_t qs[kQK / 2];
};
struct BlockQ8_0 {  // x = q * d
    uint16_t d;
    int8_t qs[kQK];
};
struct BlockQ8_1 {  // activations for the _1 formats: s = d * sum(qs)
    uint16_t d, s;
    int8_t qs[kQK];
};
struct BlockQ2_K {  // 16 groups of 16: x = d * (scale & 15) * q - dmin * (scale >> 4)
    uint8_t scales[kQKK / 16];
    uint8_t qs[kQKK / 4];
    uint16_t d, dmin;
};
struct BlockQ3_K {  // 16 groups of 16 with 6-bit signed scales: x = d * (scale - 32) * (q - 4 * !high bit)
    uint8_t hmask[kQKK / 8];
    uint8_t qs[kQKK / 4];
    uint8_t scales[12];
    uint16_t d;
};
struct BlockQ4_K {  // 8 groups of 32 with 6-bit scales and mins: x = d * scale * q - dmin * min
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qs[kQKK / 2];
};
struct BlockQ5_K {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qh[kQKK / 8];
    uint8_t qs[kQKK / 2];
};
struct BlockQ6_K {  // 16 groups of 16 with int8 scales: x = d * scale * (q - 32)
    uint8_t ql[kQKK / 2];
    uint8_t qh[kQKK / 4];
    int8_t scales[kQKK / 16];
    uint16_t d;
};
struct BlockQ8_K {  // activations for the K formats (float scale, sums of each group of 16)
    float d;
    int8_t qs[kQKK];
    int16_t bsums[kQKK / 16];
};

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 &&
              sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144 &&
              sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);

// The 6-bit scale and min of group j (0..7) of a Q4_K / Q5_K block, packed in 12 bytes.
inline void k4_scale_min(int j, const uint8_t* q, uint8_t& scale, uint8_t& min) {
    if (j < 4) {
        scale = q[j] & 63;
        min = q[j + 4] & 63;
    } else {
        scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// The 16 six-bit scales of a Q3_K block, unpacked (still offset by 32).
inline void q3k_scales(const uint8_t* packed, int8_t out[16]) {
    for (int i = 0; i < 16; ++i) {
        const int low = i < 8 ? packed[i] & 0xF : packed[i - 8] >> 4;
        const int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
        out[i] = static_cast<int8_t>(low | (high << 4));
    }
}

}  // namespace rockllm::quant
