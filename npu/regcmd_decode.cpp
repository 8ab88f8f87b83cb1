#include "npu/regcmd_decode.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>

#include "npu/regcmd.h"
#include "npu/trace.h"

namespace rockllm::npu {

namespace {

// The register names of the fact sheet (§3.4: TRM and Mesa's registers.xml), by offset.
const std::map<uint16_t, std::string>& names() {
    static const std::map<uint16_t, std::string> table = [] {
        std::map<uint16_t, std::string> t = {
            {0x0000, "PC.VERSION"}, {0x0004, "PC.VERSION_NUM"}, {0x0008, "PC.OPERATION_ENABLE"}, {0x0010, "PC.BASE_ADDRESS"},
            {0x0014, "PC.REGISTER_AMOUNTS"}, {0x0020, "PC.INTERRUPT_MASK"}, {0x0024, "PC.INTERRUPT_CLEAR"},
            {0x0028, "PC.INTERRUPT_STATUS"}, {0x002C, "PC.INTERRUPT_RAW_STATUS"}, {0x0030, "PC.TASK_CON"},
            {0x0034, "PC.TASK_DMA_BASE_ADDR"}, {0x003C, "PC.TASK_STATUS"},
            {0x1000, "CNA.S_STATUS"}, {0x1004, "CNA.S_POINTER"}, {0x1008, "CNA.OPERATION_ENABLE"}, {0x100C, "CNA.CONV_CON1"},
            {0x1010, "CNA.CONV_CON2"}, {0x1014, "CNA.CONV_CON3"}, {0x1020, "CNA.DATA_SIZE0"}, {0x1024, "CNA.DATA_SIZE1"},
            {0x1028, "CNA.DATA_SIZE2"}, {0x102C, "CNA.DATA_SIZE3"}, {0x1030, "CNA.WEIGHT_SIZE0"}, {0x1034, "CNA.WEIGHT_SIZE1"},
            {0x1038, "CNA.WEIGHT_SIZE2"}, {0x1040, "CNA.CBUF_CON0"}, {0x1044, "CNA.CBUF_CON1"}, {0x104C, "CNA.CVT_CON0"},
            {0x1050, "CNA.CVT_CON1"}, {0x1054, "CNA.CVT_CON2"}, {0x1058, "CNA.CVT_CON3"}, {0x105C, "CNA.CVT_CON4"},
            {0x1060, "CNA.FC_CON0"}, {0x1064, "CNA.FC_CON1"}, {0x1068, "CNA.PAD_CON0"}, {0x1070, "CNA.FEATURE_DATA_ADDR"},
            {0x1074, "CNA.FC_CON2"}, {0x1078, "CNA.DMA_CON0"}, {0x107C, "CNA.DMA_CON1"}, {0x1080, "CNA.DMA_CON2"},
            {0x1084, "CNA.FC_DATA_SIZE0"}, {0x1088, "CNA.FC_DATA_SIZE1"}, {0x1100, "CNA.DCOMP_CTRL"}, {0x1104, "CNA.DCOMP_REGNUM"},
            {0x1110, "CNA.DCOMP_ADDR0"}, {0x1180, "CNA.CVT_CON5"}, {0x1184, "CNA.PAD_CON1"},
            {0x3000, "CORE.S_STATUS"}, {0x3004, "CORE.S_POINTER"}, {0x3008, "CORE.OPERATION_ENABLE"}, {0x3010, "CORE.MISC_CFG"},
            {0x3014, "CORE.DATAOUT_SIZE_0"}, {0x3018, "CORE.DATAOUT_SIZE_1"}, {0x301C, "CORE.CLIP_TRUNCATE"},
            {0x3030, "CORE.(undocumented 0x3030)"},
            {0x4000, "DPU.S_STATUS"}, {0x4004, "DPU.S_POINTER"}, {0x4008, "DPU.OPERATION_ENABLE"}, {0x400C, "DPU.FEATURE_MODE_CFG"},
            {0x4010, "DPU.DATA_FORMAT"}, {0x4014, "DPU.OFFSET_PEND"}, {0x4020, "DPU.DST_BASE_ADDR"}, {0x4024, "DPU.DST_SURF_STRIDE"},
            {0x4030, "DPU.DATA_CUBE_WIDTH"}, {0x4034, "DPU.DATA_CUBE_HEIGHT"}, {0x4038, "DPU.DATA_CUBE_NOTCH"},
            {0x403C, "DPU.DATA_CUBE_CHANNEL"}, {0x4040, "DPU.BS_CFG"}, {0x4044, "DPU.BS_ALU_CFG"}, {0x4048, "DPU.BS_MUL_CFG"},
            {0x404C, "DPU.BS_RELUX_CMP_VALUE"}, {0x4050, "DPU.BS_OW_CFG"}, {0x4054, "DPU.BS_OW_OP"}, {0x4058, "DPU.WDMA_SIZE_0"},
            {0x405C, "DPU.WDMA_SIZE_1"}, {0x4060, "DPU.BN_CFG"}, {0x4064, "DPU.BN_ALU_CFG"}, {0x4068, "DPU.BN_MUL_CFG"},
            {0x406C, "DPU.BN_RELUX_CMP_VALUE"}, {0x4070, "DPU.EW_CFG"}, {0x4074, "DPU.EW_CVT_OFFSET_VALUE"},
            {0x4078, "DPU.EW_CVT_SCALE_VALUE"}, {0x407C, "DPU.EW_RELUX_CMP_VALUE"}, {0x4080, "DPU.OUT_CVT_OFFSET"},
            {0x4084, "DPU.OUT_CVT_SCALE"}, {0x4088, "DPU.OUT_CVT_SHIFT"}, {0x40C0, "DPU.SURFACE_ADD"},
            {0x40C4, "DPU.(undocumented 0x40c4)"}, {0x4100, "DPU.LUT_ACCESS_CFG"}, {0x4104, "DPU.LUT_ACCESS_DATA"},
            {0x4108, "DPU.LUT_CFG"}, {0x410C, "DPU.LUT_INFO"}, {0x4110, "DPU.LUT_LE_START"}, {0x4114, "DPU.LUT_LE_END"},
            {0x4118, "DPU.LUT_LO_START"}, {0x411C, "DPU.LUT_LO_END"}, {0x4120, "DPU.LUT_LE_SLOPE_SCALE"},
            {0x4124, "DPU.LUT_LE_SLOPE_SHIFT"}, {0x4128, "DPU.LUT_LO_SLOPE_SCALE"}, {0x412C, "DPU.LUT_LO_SLOPE_SHIFT"},
            {0x5000, "DPU_RDMA.S_STATUS"}, {0x5004, "DPU_RDMA.S_POINTER"}, {0x5008, "DPU_RDMA.OPERATION_ENABLE"},
            {0x500C, "DPU_RDMA.DATA_CUBE_WIDTH"}, {0x5010, "DPU_RDMA.DATA_CUBE_HEIGHT"}, {0x5014, "DPU_RDMA.DATA_CUBE_CHANNEL"},
            {0x5018, "DPU_RDMA.SRC_BASE_ADDR"}, {0x501C, "DPU_RDMA.BRDMA_CFG"}, {0x5020, "DPU_RDMA.BS_BASE_ADDR"},
            {0x5028, "DPU_RDMA.NRDMA_CFG"}, {0x502C, "DPU_RDMA.BN_BASE_ADDR"}, {0x5034, "DPU_RDMA.ERDMA_CFG"},
            {0x5038, "DPU_RDMA.EW_BASE_ADDR"}, {0x5040, "DPU_RDMA.EW_SURF_STRIDE"}, {0x5044, "DPU_RDMA.FEATURE_MODE_CFG"},
            {0x5048, "DPU_RDMA.SRC_DMA_CFG"}, {0x504C, "DPU_RDMA.SURF_NOTCH"}, {0x5064, "DPU_RDMA.PAD_CFG"},
            {0x5068, "DPU_RDMA.WEIGHT"}, {0x506C, "DPU_RDMA.EW_SURF_NOTCH"},
        };
        // The numbered registers: DCOMP_AMOUNT0..15 and EW_OP_VALUE_0..7, 4 bytes apart.
        for (uint16_t i = 0; i < 16; ++i) t[static_cast<uint16_t>(cna::kDcompAmount0 + 4 * i)] = "CNA.DCOMP_AMOUNT" + std::to_string(i);
        for (uint16_t i = 0; i < 8; ++i) t[static_cast<uint16_t>(dpu::kEwOpValue0 + 4 * i)] = "DPU.EW_OP_VALUE_" + std::to_string(i);
        return t;
    }();
    return table;
}

std::string enabled_blocks(uint32_t mask) {
    static const std::pair<uint32_t, const char*> blocks[] = {{enable::kCna, "CNA"}, {enable::kCore, "CORE"}, {enable::kDpu, "DPU"},
                                                               {enable::kDpuRdma, "DPU_RDMA"}, {enable::kPpu, "PPU"}, {enable::kPpuRdma, "PPU_RDMA"}};
    std::string out;
    for (const auto& [bit, name] : blocks)
        if (mask & bit) out += (out.empty() ? "" : " ") + std::string(name);
    return out;
}

}  // namespace

std::string register_name(uint16_t offset) {
    const auto it = names().find(offset);
    return it == names().end() ? "" : it->second;
}

std::string decode_list(const std::vector<uint64_t>& entries) {
    std::string out;
    char line[160];
    std::string block;
    for (size_t i = 0; i < entries.size(); ++i) {
        const DecodedEntry e = decode_entry(entries[i]);
        if (entries[i] == 0) {
            std::snprintf(line, sizeof line, "  %4zu  (filler)\n", i);
        } else if (entries[i] == kPreOpEnableEntry) {
            std::snprintf(line, sizeof line, "  %4zu  (0x0041 marker before op-enable)\n", i);
        } else if (e.target == kOpEnableTarget && e.offset == pc::kOperationEnable.offset) {
            std::snprintf(line, sizeof line, "  %4zu  op-enable 0x%02x: %s\n", i, e.value, enabled_blocks(e.value).c_str());
        } else {
            std::string name = register_name(e.offset);
            if (name.empty()) name = "(unnamed)";
            const std::string this_block = name.substr(0, name.find('.'));
            if (this_block != block) {
                out += this_block + "\n";
                block = this_block;
            }
            std::string note;
            if (e.offset == pc::kBaseAddress.offset) note = "  next list at this address";
            if (e.offset == pc::kRegisterAmounts.offset)
                note = (e.value & kPcDataAmountMask) ? "  fetch " + std::to_string(fetched_entries(e.value & kPcDataAmountMask)) + " entries next"
                                                     : "  end of chain";
            std::snprintf(line, sizeof line, "  %4zu  %-28s 0x%04x = 0x%08x%s\n", i, name.c_str(), e.offset, e.value, note.c_str());
        }
        out += line;
    }
    return out;
}

std::string decode_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string out;
    if (bytes.rfind("job ", 0) == 0) {
        for (const TracedJob& job : read_trace(bytes)) {
            out += job.header + "\n";
            for (size_t t = 0; t < job.tasks.size(); ++t) {
                char line[96];
                std::snprintf(line, sizeof line, "task %zu at 0x%08llx, %zu entries\n", t, static_cast<unsigned long long>(job.tasks[t].iova),
                              job.tasks[t].entries.size());
                out += line + decode_list(job.tasks[t].entries);
            }
        }
        return out;
    }
    if (bytes.empty() || bytes.size() % 8 != 0) throw std::runtime_error(path + " is neither a trace nor a list of 64-bit entries");
    std::vector<uint64_t> entries(bytes.size() / 8);
    for (size_t i = 0; i < entries.size(); ++i)
        for (int b = 0; b < 8; ++b) entries[i] |= uint64_t{static_cast<uint8_t>(bytes[i * 8 + static_cast<size_t>(b)])} << (8 * b);
    const DecodedEntry last = decode_entry(entries.back());
    if (last.target != kOpEnableTarget || last.offset != pc::kOperationEnable.offset)
        throw std::runtime_error(path + " is neither a trace nor a task's list (a list ends in its op-enable entry)");
    return decode_list(entries);
}

}  // namespace rockllm::npu
