// Reading command streams back: the names of the NPU's registers (the fact sheet's §3.4, from the
// TRM and Mesa's registers.xml) and a disassembler that prints a task's list as named register
// writes, block by block, with the tail spelled out. For bring-up on a board (`rockllm npu decode`)
// and for comparing streams with other implementations' captures.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rockllm::npu {

// "CNA.CONV_CON1", or "" for an offset the table does not name.
std::string register_name(uint16_t offset);

// One line per entry: block, offset, name and value; the tail's filler, chain link, pre-op-enable
// marker and op-enable (with the blocks it starts) in words.
std::string decode_list(const std::vector<uint64_t>& entries);

// A trace (ROCKLLM_NPU_TRACE, trace.h) or one task's raw list (little-endian 64-bit entries ending
// in the op-enable), decoded task by task. Throws std::runtime_error for a file that is neither.
std::string decode_file(const std::string& path);

}  // namespace rockllm::npu
