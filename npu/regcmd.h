// Register command streams: the 64-bit entries the NPU's program controller fetches (target word
// in bits 63:48, value in 47:16, register offset in 15:0) and the tail every task must end with.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "npu/registers.h"

namespace rockllm::npu {

class NpuError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

constexpr uint64_t encode_entry(uint16_t target, uint32_t value, uint16_t offset) {
    return (uint64_t{target} << 48) | (uint64_t{value} << 16) | offset;
}

struct DecodedEntry {
    uint16_t target;
    uint32_t value;
    uint16_t offset;
};
constexpr DecodedEntry decode_entry(uint64_t entry) {
    return {static_cast<uint16_t>(entry >> 48), static_cast<uint32_t>(entry >> 16), static_cast<uint16_t>(entry)};
}

// The tail's fixed entries: "before op_en, 0x0041... must be set", and the op-enable write.
constexpr uint64_t kPreOpEnableEntry = 0x0041000000000000ull;
constexpr uint16_t kOpEnableTarget = 0x0081;
constexpr size_t kTailEntries = 4;

// Builds one task's regcmd. Values are composed from named fields; a value too wide for its field
// is an NpuError naming the register, never a silently truncated write.
class RegcmdBuilder {
public:
    RegcmdBuilder& write(Register reg, uint32_t value);
    // A value made of fields: {{field, value}, ...}.
    RegcmdBuilder& write(Register reg, std::initializer_list<std::pair<Field, uint32_t>> fields);
    // The mandatory tail: a filler, PC.REGISTER_AMOUNTS = 0, the 0x0041 entry, op-enable(mask).
    std::vector<uint64_t> finish(uint32_t enable_mask);

    static uint32_t compose(Register reg, std::initializer_list<std::pair<Field, uint32_t>> fields);

private:
    std::vector<uint64_t> entries_;
};

}  // namespace rockllm::npu
