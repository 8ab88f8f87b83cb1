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

// What the program controller is told to fetch for a list of `entries` 64-bit entries (tail
// included): PC_REGISTER_AMOUNTS.pc_data_amount counts 128-bit words, minus one. Both drivers
// write (entries + 1) / 2 - 1 for the first task (rknpu: (regcfg_amount + 4 + 1) / 2 - 1, with
// regcfg_amount = entries - 4), and a chained tail carries the same value for the next task. The
// PC then fetches fetched_entries(amount) entries: an odd list is fetched with one entry more.
constexpr uint32_t pc_data_amount(uint32_t entries) { return (entries + 1) / 2 - 1; }
constexpr uint32_t fetched_entries(uint32_t pc_data_amount) { return 2 * (pc_data_amount + 1); }
// PC_REGISTER_AMOUNTS: bits 15:0 are pc_data_amount; 31:16 are read-only (TRM), written 0.
constexpr uint32_t kPcDataAmountMask = 0xFFFF;
// PC_BASE_ADDRESS: bits 31:4 the list's address, bit 0 pc_sel (0 = PC mode, fetch over AXI).
constexpr uint32_t kPcSourceAddressMask = 0xFFFFFFF0u;

// Chaining in hardware (rknpu's PC mode runs TASK_NUMBER tasks from one kick): the driver hands
// the PC the first task's list only; each task's tail tells it where the next list is and how
// much to fetch. `entries` is a whole task (tail included), as RegcmdBuilder::finish made it.
void link_tail(uint64_t* entries, uint32_t count, uint64_t next_iova, uint32_t next_count);
// The last task of a chain (and every task Rocket runs, which kicks one task at a time): the
// tail's filler and PC_REGISTER_AMOUNTS = 0, which ends the chain.
void end_tail(uint64_t* entries, uint32_t count);

// Builds one task's regcmd. Values are composed from named fields; a value too wide for its field
// is an NpuError naming the register, never a silently truncated write.
class RegcmdBuilder {
public:
    RegcmdBuilder& write(Register reg, uint32_t value);
    // A value made of fields: {{field, value}, ...}.
    RegcmdBuilder& write(Register reg, std::initializer_list<std::pair<Field, uint32_t>> fields);
    // The mandatory tail: a filler, PC.REGISTER_AMOUNTS = 0, the 0x0041 entry, op-enable(mask).
    // The list is made an even number of entries (a filler before the tail where needed): the PC
    // fetches 128-bit words, and an odd list would be fetched with the entry after its op-enable.
    std::vector<uint64_t> finish(uint32_t enable_mask);

    static uint32_t compose(Register reg, std::initializer_list<std::pair<Field, uint32_t>> fields);

private:
    std::vector<uint64_t> entries_;
};

}  // namespace rockllm::npu
