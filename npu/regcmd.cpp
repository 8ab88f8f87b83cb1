#include "npu/regcmd.h"

#include <cstdio>

namespace rockllm::npu {

namespace {

std::string register_name(Register reg) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "0x%04x", reg.offset);
    return buffer;
}

}  // namespace

uint32_t RegcmdBuilder::compose(Register reg, std::initializer_list<std::pair<Field, uint32_t>> fields) {
    uint32_t value = 0;
    for (const auto& [field, v] : fields) {
        if (v > field.max())
            throw NpuError("register " + register_name(reg) + ": value " + std::to_string(v) + " does not fit its " +
                           std::to_string(field.width) + "-bit field at bit " + std::to_string(field.shift));
        value |= v << field.shift;
    }
    return value;
}

RegcmdBuilder& RegcmdBuilder::write(Register reg, uint32_t value) {
    entries_.push_back(encode_entry(static_cast<uint16_t>(reg.block), value, reg.offset));
    return *this;
}

RegcmdBuilder& RegcmdBuilder::write(Register reg, std::initializer_list<std::pair<Field, uint32_t>> fields) {
    return write(reg, compose(reg, fields));
}

std::vector<uint64_t> RegcmdBuilder::finish(uint32_t enable_mask) {
    if (entries_.size() % 2 != 0) entries_.push_back(0);
    entries_.push_back(0);  // filler: the next task's PC_BASE_ADDRESS when tasks are chained
    write(pc::kRegisterAmounts, 0);
    entries_.push_back(kPreOpEnableEntry);
    entries_.push_back(encode_entry(kOpEnableTarget, enable_mask, pc::kOperationEnable.offset));
    return std::move(entries_);
}

void link_tail(uint64_t* entries, uint32_t count, uint64_t next_iova, uint32_t next_count) {
    if (count < kTailEntries || next_count < kTailEntries) throw NpuError("a chained task needs its 4-entry tail");
    if (next_iova % 16 != 0 || next_iova >= (uint64_t{1} << 32)) throw NpuError("a chained task's list must be 16-byte aligned below 4 GiB");
    entries[count - 4] = encode_entry(static_cast<uint16_t>(pc::kBaseAddress.block), static_cast<uint32_t>(next_iova), pc::kBaseAddress.offset);
    entries[count - 3] = encode_entry(static_cast<uint16_t>(pc::kRegisterAmounts.block), pc_data_amount(next_count), pc::kRegisterAmounts.offset);
}

void end_tail(uint64_t* entries, uint32_t count) {
    if (count < kTailEntries) throw NpuError("a task needs its 4-entry tail");
    entries[count - 4] = 0;
    entries[count - 3] = encode_entry(static_cast<uint16_t>(pc::kRegisterAmounts.block), 0, pc::kRegisterAmounts.offset);
}

}  // namespace rockllm::npu
