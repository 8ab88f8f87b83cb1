#include "npu/matmul_task.h"

#include "npu/regcmd.h"

namespace rockllm::npu {

namespace {

constexpr uint32_t kBurst16 = 15;

uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }

void check_address(const char* what, uint64_t address, size_t bytes) {
    if (address % 16 != 0) throw NpuError(std::string(what) + " buffer address is not 16-byte aligned");
    if (address >= kIovaLimit || bytes > kIovaLimit - address)
        throw NpuError(std::string(what) + " buffer lies outside the NPU's 32-bit address window");
}

}  // namespace

int data_banks_for(MatmulShape p, MatmulType type) {
    // Counted as Mesa counts them, in 128-byte entries per feature row (the row of a 1×M×K cube
    // is K elements), which is never fewer than the bytes over the bank size.
    const int64_t entries = p.m * cna::cbuf_entries_per_row(p.k * static_cast<int64_t>(input_bytes(type)));
    return static_cast<int>((entries + cna::kCbufBankEntries - 1) / cna::kCbufBankEntries);
}

bool fits_one_task(MatmulShape p, MatmulType type) {
    return p.m >= 4 && p.m <= 1020 && p.k >= 32 && p.k * static_cast<int64_t>(input_bytes(type)) <= cna::kCbufBankBytes &&
           p.n >= 16 && p.n <= 8192 && data_banks_for(p, type) <= cna::kCbufBanks - 1;
}

std::vector<uint64_t> build_matmul_task(MatmulShape p, MatmulType type, const MatmulAddresses& a) {
    if (p.m <= 0 || p.k <= 0 || p.n <= 0) throw NpuError("matmul sizes must be positive");
    const MatmulShape aligned = padded_shape(p, type);
    if (aligned.m != p.m || aligned.k != p.k || aligned.n != p.n)
        throw NpuError("matmul task shape is not padded to the hardware alignment (M%4, K%32, N%" +
                       std::to_string(type == MatmulType::Int8 ? 32 : 16) + ")");
    if (!fits_one_task(p, type)) throw NpuError("matmul shape does not fit one NPU task; split it first");
    check_address("feature", a.feature, feature_bytes(p, type));
    check_address("weight", a.weights, weight_bytes(p, type));
    check_address("output", a.output, output_bytes(p));

    const bool int8 = type == MatmulType::Int8;
    const uint32_t in = static_cast<uint32_t>(int8 ? Precision::Int8 : Precision::Fp16);
    const uint32_t out = static_cast<uint32_t>(int8 ? Precision::Int32 : Precision::Fp32);
    const int64_t bpe = static_cast<int64_t>(input_bytes(type));
    const int banks = data_banks_for(p, type);

    RegcmdBuilder r;
    r.write(dpu::kSPointer, kSPointerPingPong);
    r.write(dpu_rdma::kSPointer, kSPointerPingPong);
    // CNA: the feature cube M×1×K and N kernels of 1×1×K.
    r.write(cna::kConvCon1, {{cna::kProcPrecision, in}, {cna::kInPrecision, in}, {cna::kConvMode, 0}});
    r.write(cna::kConvCon2, {{cna::kKernelGroup, 0}, {cna::kFeatureGrains, u32(p.m + 1)}});
    r.write(cna::kConvCon3, {{cna::kConvYStride, 1}, {cna::kConvXStride, 1}});
    r.write(cna::kDataSize0, {{cna::kDatainWidth, 1}, {cna::kDatainHeight, u32(p.m)}});
    r.write(cna::kDataSize1, {{cna::kDatainChannelRealMinus1, u32(p.k - 1)}, {cna::kDatainChannel, u32(p.k)}});
    r.write(cna::kDataSize2, {{cna::kDataoutWidth, 1}});
    r.write(cna::kDataSize3, {{cna::kDataoutAtomics, u32(p.m)}});
    r.write(cna::kWeightSize0, u32(p.n * p.k * bpe));
    r.write(cna::kWeightSize1, {{cna::kWeightBytesPerKernel, u32(p.k * bpe)}});
    r.write(cna::kWeightSize2, {{cna::kWeightWidth, 1}, {cna::kWeightHeight, 1}, {cna::kWeightKernels, u32(p.n)}});
    r.write(cna::kCbufCon0, {{cna::kWeightBank, u32(cna::kCbufBanks - banks)}, {cna::kDataBank, u32(banks)}});
    r.write(cna::kCbufCon1, {{cna::kDataEntries, u32((p.k * bpe + 63) / 64)}});  // 64-byte units per row
    r.write(cna::kCvtCon0, {{cna::kDataSign, 1}, {cna::kCvtType, 1}, {cna::kCvtBypass, 1}});
    for (Register cvt : {cna::kCvtCon1, cna::kCvtCon2, cna::kCvtCon3, cna::kCvtCon4}) r.write(cvt, {{cna::kCvtScale, 1}});
    r.write(cna::kFcCon0, 0).write(cna::kFcCon1, 0).write(cna::kPadCon0, 0);
    r.write(cna::kFeatureDataAddr, u32(static_cast<int64_t>(a.feature)));
    r.write(cna::kFcCon2, 0);
    r.write(cna::kDmaCon0, {{cna::kWeightBurstLen, kBurst16}, {cna::kDataBurstLen, kBurst16}});
    // Line and surface strides as MTX found them to work (units undocumented; the cube itself is
    // (K/C2, M, C2) atoms, see matmul_layout.h).
    r.write(cna::kDmaCon1, {{cna::kLineStride, 4}});
    r.write(cna::kDmaCon2, {{cna::kSurfStride, u32(4 * (p.m / 4 - 1))}});
    r.write(cna::kFcDataSize0, {{cna::kDmaWidth, 1}, {cna::kDmaHeight, u32(p.m)}});
    r.write(cna::kFcDataSize1, {{cna::kDmaChannel, u32(p.k)}});
    r.write(cna::kDcompCtrl, 0).write(cna::kDcompRegnum, 0);
    r.write(cna::kDcompAddr0, u32(static_cast<int64_t>(a.weights)));
    for (uint16_t i = 0; i < 16; ++i) r.write(Register{Block::Cna, static_cast<uint16_t>(cna::kDcompAmount0 + 4 * i)}, 0);
    r.write(cna::kCvtCon5, 0).write(cna::kPadCon1, 0);
    // CORE: the MAC array's output cube M×1×N.
    r.write(core::kMiscCfg, {{core::kProcPrecision, in}, {core::kQdEn, int8 ? 0u : 1u}});
    r.write(core::kDataoutSize0, {{core::kDataoutHeightMinus1, u32(p.m - 1)}, {core::kDataoutWidthMinus1, 0}});
    r.write(core::kDataoutSize1, {{core::kDataoutChannelMinus1, u32(p.n - 1)}});
    r.write(core::kClipTruncate, 0).write(core::kUndocumented3030, 0);
    // DPU: straight to memory as 32-bit values, every stage bypassed.
    r.write(dpu::kFeatureModeCfg, {{dpu::kBurstLen, kBurst16}, {dpu::kConvMode, 0}, {dpu::kOutputMode, dpu::kOutputToMemory}, {dpu::kFlyingMode, 0}});
    r.write(dpu::kDataFormat, {{dpu::kOutPrecision, out}, {dpu::kInPrecision, in}, {dpu::kProcPrecision, in}});
    r.write(dpu::kOffsetPend, 0);
    r.write(dpu::kDstBaseAddr, u32(static_cast<int64_t>(a.output)));
    r.write(dpu::kDstSurfStride, u32(p.m * 16));  // one surface: M atoms of 16 bytes
    r.write(dpu::kDataCubeWidth, {{dpu::kCubeMinus1, 0}});
    r.write(dpu::kDataCubeHeight, {{dpu::kCubeMinus1, u32(p.m - 1)}});
    r.write(dpu::kDataCubeNotch, 0);
    r.write(dpu::kDataCubeChannel, {{dpu::kOrigChannelMinus1, u32(p.n - 1)}, {dpu::kChannelMinus1, u32(p.n - 1)}});
    r.write(dpu::kBsCfg, dpu::kBsAllBypass);
    r.write(dpu::kBsAluCfg, 0).write(dpu::kBsMulCfg, 0).write(dpu::kBsReluxCmpValue, 0);
    r.write(dpu::kBsOwCfg, {{dpu::kSizeE2, int8 ? 7u : 3u}, {dpu::kSizeE1, int8 ? 7u : 3u}, {dpu::kSizeE0, int8 ? 7u : 3u}, {dpu::kOdBypass, 1}});
    r.write(dpu::kBsOwOp, 0);
    r.write(dpu::kWdmaSize0, {{dpu::kWdmaChannelMinus1, u32(p.n - 1)}});
    r.write(dpu::kWdmaSize1, {{dpu::kWdmaHeightMinus1, u32(p.m - 1)}, {dpu::kWdmaWidthMinus1, 0}});
    r.write(dpu::kBnCfg, dpu::kBnAllBypass);
    r.write(dpu::kBnAluCfg, 0).write(dpu::kBnMulCfg, 0).write(dpu::kBnReluxCmpValue, 0);
    r.write(dpu::kEwCfg, dpu::kEwAllBypass);
    r.write(dpu::kEwCvtOffsetValue, 0);
    r.write(dpu::kEwCvtScaleValue, 1);
    r.write(dpu::kEwReluxCmpValue, 0);
    r.write(dpu::kOutCvtOffset, 0);
    r.write(dpu::kOutCvtScale, {{dpu::kOutCvtScaleValue, 1}});
    r.write(dpu::kOutCvtShift, 0);
    for (uint16_t i = 0; i < 8; ++i) r.write(Register{Block::Dpu, static_cast<uint16_t>(dpu::kEwOpValue0 + 4 * i)}, 0);
    r.write(dpu::kSurfaceAdd, u32(p.m * (int8 ? 8 : 4)) << 4);  // empirical (MTX)
    r.write(dpu::kUndocumented40C4, 0);
    for (uint16_t offset = dpu::kLutCfg; offset <= dpu::kLutLoSlopeShift; offset += 4) r.write(Register{Block::Dpu, offset}, 0);
    // DPU_RDMA is not enabled (the DPU reads no second operand); its read DMAs are still marked
    // off, in case a block left enabled by another process's task looks at them.
    r.write(dpu_rdma::kFeatureModeCfg, {{dpu_rdma::kMrdmaDisable, 1}});
    r.write(dpu_rdma::kErdmaCfg, {{dpu_rdma::kErdmaDisable, 1}});
    return r.finish(enable::kMatmul);
}

}  // namespace rockllm::npu
