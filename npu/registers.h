// The RK3588 NPU registers rockllm programs, described once: blocks with their regcmd target
// words, registers with their offsets, fields with their bit positions. Command streams are built
// from these names (regcmd.h) and the simulator decodes with the same table, so a value is never
// a bare number in the code that uses it. Facts: ../shared/docs/rk3588-npu.md §3 (TRM, Mesa).
#pragma once

#include <cstdint>

namespace rockllm::npu {

// A register block and the target word that addresses it in a regcmd entry (bits 63:48). Bit 48
// is set by every known implementation on register writes; its purpose is undocumented.
enum class Block : uint16_t {
    Pc = 0x0101,
    Cna = 0x0201,
    Core = 0x0801,
    Dpu = 0x1001,
    DpuRdma = 0x2001,
};

struct Register {
    Block block;
    uint16_t offset;  // the full offset, e.g. 0x1070
};

// A bit field of a register value.
struct Field {
    uint8_t shift;
    uint8_t width;
    constexpr uint32_t mask() const { return width >= 32 ? 0xffffffffu : ((1u << width) - 1) << shift; }
    constexpr uint32_t max() const { return width >= 32 ? 0xffffffffu : (1u << width) - 1; }
    constexpr uint32_t get(uint32_t value) const { return (value & mask()) >> shift; }
};

// Precision codes of CNA/CORE (input, processing) and of DPU/DPU_RDMA (which adds int32, fp32).
enum class Precision : uint32_t { Int8 = 0, Int16 = 1, Fp16 = 2, Bf16 = 3, Int32 = 4, Fp32 = 5 };

namespace pc {
constexpr Register kOperationEnable{Block::Pc, 0x0008};
// PC interrupt bits 8/9: the DPU of register group 0 or 1 is done. rknpu folds each pair of group
// bits together before comparing the status with a task's int_mask, so a DPU write-out is 0x300.
constexpr uint32_t kDpuDoneInterrupts = 0x300;
constexpr Register kBaseAddress{Block::Pc, 0x0010};
constexpr Register kRegisterAmounts{Block::Pc, 0x0014};
}  // namespace pc

// Every block but PC has S_POINTER at +4; 0xE = pointer_pp_en | executer_pp_en | pointer_pp_mode.
constexpr uint32_t kSPointerPingPong = 0xE;

namespace cna {
constexpr Register kConvCon1{Block::Cna, 0x100C};
constexpr Field kProcPrecision{7, 3}, kInPrecision{4, 3}, kConvMode{0, 4};
constexpr Register kConvCon2{Block::Cna, 0x1010};
constexpr Field kKernelGroup{16, 8}, kFeatureGrains{4, 10};
constexpr Register kConvCon3{Block::Cna, 0x1014};
constexpr Field kConvYStride{3, 3}, kConvXStride{0, 3};
constexpr Register kDataSize0{Block::Cna, 0x1020};
constexpr Field kDatainWidth{16, 11}, kDatainHeight{0, 11};
constexpr Register kDataSize1{Block::Cna, 0x1024};
constexpr Field kDatainChannelRealMinus1{16, 14}, kDatainChannel{0, 16};
constexpr Register kDataSize2{Block::Cna, 0x1028};
constexpr Field kDataoutWidth{0, 11};
constexpr Register kDataSize3{Block::Cna, 0x102C};
constexpr Field kDataoutAtomics{0, 22};
constexpr Register kWeightSize0{Block::Cna, 0x1030};  // weight bytes in all
constexpr Register kWeightSize1{Block::Cna, 0x1034};
constexpr Field kWeightBytesPerKernel{0, 19};
constexpr Register kWeightSize2{Block::Cna, 0x1038};
constexpr Field kWeightWidth{24, 5}, kWeightHeight{16, 5}, kWeightKernels{0, 14};
constexpr Register kCbufCon0{Block::Cna, 0x1040};
constexpr Field kWeightReuse{13, 1}, kDataReuse{12, 1}, kWeightBank{4, 4}, kDataBank{0, 4};
// The convolution buffer the banks of CBUF_CON0 divide between feature data and weights.
constexpr int kCbufBanks = 12;
constexpr int64_t kCbufBankBytes = 32 * 1024;
// A bank holds 256 entries of 128 bytes; a feature row takes whole entries (Mesa's count).
constexpr int64_t kCbufEntryBytes = 128;
constexpr int64_t kCbufBankEntries = kCbufBankBytes / kCbufEntryBytes;
constexpr int64_t cbuf_entries_per_row(int64_t row_bytes) { return (row_bytes + kCbufEntryBytes - 1) / kCbufEntryBytes; }
constexpr Register kCbufCon1{Block::Cna, 0x1044};
constexpr Field kDataEntries{0, 13};
constexpr Register kCvtCon0{Block::Cna, 0x104C};
constexpr Field kDataSign{3, 1}, kCvtType{1, 1}, kCvtBypass{0, 1};
constexpr Register kCvtCon1{Block::Cna, 0x1050}, kCvtCon2{Block::Cna, 0x1054}, kCvtCon3{Block::Cna, 0x1058}, kCvtCon4{Block::Cna, 0x105C};
constexpr Field kCvtScale{16, 16};
constexpr Register kFcCon0{Block::Cna, 0x1060}, kFcCon1{Block::Cna, 0x1064}, kPadCon0{Block::Cna, 0x1068};
constexpr Register kFeatureDataAddr{Block::Cna, 0x1070};
constexpr Register kFcCon2{Block::Cna, 0x1074};
constexpr Register kDmaCon0{Block::Cna, 0x1078};
constexpr Field kWeightBurstLen{16, 4}, kDataBurstLen{0, 4};
constexpr Register kDmaCon1{Block::Cna, 0x107C};
constexpr Field kLineStride{0, 28};
constexpr Register kDmaCon2{Block::Cna, 0x1080};
constexpr Field kSurfStride{0, 28};
constexpr Register kFcDataSize0{Block::Cna, 0x1084};
constexpr Field kDmaWidth{16, 14}, kDmaHeight{0, 11};
constexpr Register kFcDataSize1{Block::Cna, 0x1088};
constexpr Field kDmaChannel{0, 16};
constexpr Register kDcompCtrl{Block::Cna, 0x1100}, kDcompRegnum{Block::Cna, 0x1104};
constexpr Register kDcompAddr0{Block::Cna, 0x1110};  // weight base IOVA, 16-byte aligned
constexpr uint16_t kDcompAmount0 = 0x1140;            // DCOMP_AMOUNT0..15 at +4 each
constexpr Register kCvtCon5{Block::Cna, 0x1180}, kPadCon1{Block::Cna, 0x1184};
// Every register of the block a task that enables it writes (MTX's matmul recipe, which the
// vendor driver runs): the ones above, DCOMP_AMOUNT0..15 included.
constexpr uint16_t kConfiguration[] = {0x100C, 0x1010, 0x1014, 0x1020, 0x1024, 0x1028, 0x102C, 0x1030, 0x1034, 0x1038, 0x1040, 0x1044,
                                       0x104C, 0x1050, 0x1054, 0x1058, 0x105C, 0x1060, 0x1064, 0x1068, 0x1070, 0x1074, 0x1078, 0x107C,
                                       0x1080, 0x1084, 0x1088, 0x1100, 0x1104, 0x1110, 0x1140, 0x1144, 0x1148, 0x114C, 0x1150, 0x1154,
                                       0x1158, 0x115C, 0x1160, 0x1164, 0x1168, 0x116C, 0x1170, 0x1174, 0x1178, 0x117C, 0x1180, 0x1184};
}  // namespace cna

namespace core {
constexpr Register kMiscCfg{Block::Core, 0x3010};
constexpr Field kProcPrecision{8, 3}, kQdEn{0, 1};
constexpr Register kDataoutSize0{Block::Core, 0x3014};
constexpr Field kDataoutHeightMinus1{16, 16}, kDataoutWidthMinus1{0, 16};
constexpr Register kDataoutSize1{Block::Core, 0x3018};
constexpr Field kDataoutChannelMinus1{0, 16};
constexpr Register kClipTruncate{Block::Core, 0x301C};
constexpr Register kUndocumented3030{Block::Core, 0x3030};  // written 0 by Mesa and MTX
constexpr uint16_t kConfiguration[] = {0x3010, 0x3014, 0x3018, 0x301C, 0x3030};
}  // namespace core

namespace dpu {
constexpr Register kSPointer{Block::Dpu, 0x4004};
constexpr Register kFeatureModeCfg{Block::Dpu, 0x400C};
constexpr Field kBurstLen{5, 4}, kConvMode{3, 2}, kOutputMode{1, 2}, kFlyingMode{0, 1};
constexpr Register kDataFormat{Block::Dpu, 0x4010};
constexpr Field kOutPrecision{29, 3}, kInPrecision{26, 3}, kProcPrecision{0, 3};
constexpr Register kDstBaseAddr{Block::Dpu, 0x4020};   // output IOVA, 16-byte aligned
constexpr Register kDstSurfStride{Block::Dpu, 0x4024};  // bytes between output surfaces, [31:4]
constexpr Register kDataCubeWidth{Block::Dpu, 0x4030}, kDataCubeHeight{Block::Dpu, 0x4034};
constexpr Field kCubeMinus1{0, 13};
constexpr Register kDataCubeChannel{Block::Dpu, 0x403C};
constexpr Field kOrigChannelMinus1{16, 13}, kChannelMinus1{0, 13};
constexpr Register kBsCfg{Block::Dpu, 0x4040};
constexpr uint32_t kOutputToMemory = 2;  // output_mode of FEATURE_MODE_CFG
constexpr uint32_t kBsAllBypass = 0x53;  // bits 0, 1, 4, 6
constexpr Register kBsOwCfg{Block::Dpu, 0x4050};
constexpr Field kSizeE2{8, 3}, kSizeE1{5, 3}, kSizeE0{2, 3}, kOdBypass{1, 1};
constexpr Register kWdmaSize0{Block::Dpu, 0x4058};
constexpr Field kWdmaChannelMinus1{0, 13};
constexpr Register kWdmaSize1{Block::Dpu, 0x405C};
constexpr Field kWdmaHeightMinus1{16, 13}, kWdmaWidthMinus1{0, 13};
constexpr Register kBnCfg{Block::Dpu, 0x4060};
constexpr uint32_t kBnAllBypass = 0x53;
constexpr Register kEwCfg{Block::Dpu, 0x4070};
constexpr uint32_t kEwAllBypass = 0x383;  // ew, op, lut, op_cvt and relu bypass
constexpr Register kEwCvtScaleValue{Block::Dpu, 0x4078};
constexpr Register kOutCvtOffset{Block::Dpu, 0x4080}, kOutCvtScale{Block::Dpu, 0x4084}, kOutCvtShift{Block::Dpu, 0x4088};
constexpr Field kFp32ToFp16En{16, 1}, kOutCvtScaleValue{0, 16};
constexpr Register kSurfaceAdd{Block::Dpu, 0x40C0};
constexpr Register kUndocumented40C4{Block::Dpu, 0x40C4};
// The operands of the bypassed stages, written 0 so that no earlier task's values remain.
constexpr Register kOffsetPend{Block::Dpu, 0x4014}, kDataCubeNotch{Block::Dpu, 0x4038};
constexpr Register kBsAluCfg{Block::Dpu, 0x4044}, kBsMulCfg{Block::Dpu, 0x4048}, kBsReluxCmpValue{Block::Dpu, 0x404C}, kBsOwOp{Block::Dpu, 0x4054};
constexpr Register kBnAluCfg{Block::Dpu, 0x4064}, kBnMulCfg{Block::Dpu, 0x4068}, kBnReluxCmpValue{Block::Dpu, 0x406C};
constexpr Register kEwCvtOffsetValue{Block::Dpu, 0x4074}, kEwReluxCmpValue{Block::Dpu, 0x407C};
constexpr uint16_t kEwOpValue0 = 0x4090;  // EW_OP_VALUE_0..7 at +4 each
// The LUT's configuration (LUT_CFG .. LO_SLOPE_SHIFT); its access port (0x4100/0x4104) writes
// table memory, not configuration, and is left alone.
constexpr uint16_t kLutCfg = 0x4108, kLutLoSlopeShift = 0x412C;
// Every register of the block a task that enables it writes: MTX's recipe less the LUT port.
constexpr uint16_t kConfiguration[] = {0x400C, 0x4010, 0x4014, 0x4020, 0x4024, 0x4030, 0x4034, 0x4038, 0x403C, 0x4040, 0x4044, 0x4048,
                                       0x404C, 0x4050, 0x4054, 0x4058, 0x405C, 0x4060, 0x4064, 0x4068, 0x406C, 0x4070, 0x4074, 0x4078,
                                       0x407C, 0x4080, 0x4084, 0x4088, 0x4090, 0x4094, 0x4098, 0x409C, 0x40A0, 0x40A4, 0x40A8, 0x40AC,
                                       0x40C0, 0x40C4, 0x4108, 0x410C, 0x4110, 0x4114, 0x4118, 0x411C, 0x4120, 0x4124, 0x4128, 0x412C};
}  // namespace dpu

namespace dpu_rdma {
constexpr Register kSPointer{Block::DpuRdma, 0x5004};
// The block's configuration as Mesa's rocket driver programs it for every task that enables it:
// cube sizes, MRDMA source, BRDMA/NRDMA/ERDMA configuration and bases, feature mode, strides,
// notches, padding and arbiter weights.
constexpr uint16_t kConfiguration[] = {0x500C, 0x5010, 0x5014, 0x5018, 0x501C, 0x5020, 0x5028, 0x502C, 0x5034,
                                       0x5038, 0x5040, 0x5044, 0x5048, 0x504C, 0x5064, 0x5068, 0x506C};
constexpr Register kFeatureModeCfg{Block::DpuRdma, 0x5044};
constexpr Field kMrdmaDisable{4, 1};
constexpr Register kErdmaCfg{Block::DpuRdma, 0x5034};
constexpr Field kErdmaDisable{0, 1};
}  // namespace dpu_rdma

// The op-enable mask of a task's last entry (the GLOBAL OPERATION_ENABLE bits).
namespace enable {
constexpr uint32_t kCna = 1u << 0, kCore = 1u << 2, kDpu = 1u << 3, kDpuRdma = 1u << 4, kPpu = 1u << 5, kPpuRdma = 1u << 6;
// A matmul: CNA → CORE → DPU to memory, DPU_RDMA off (nothing for it to read), 0x0D as the vendor
// runtime's own convolution tasks are (its captures) and MTX's matmul on the vendor driver.
constexpr uint32_t kMatmul = kCna | kCore | kDpu;
}

}  // namespace rockllm::npu
