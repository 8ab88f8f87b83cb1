// The project's command streams read back and set beside the vendor runtime's: the disassembler
// names every register a matmul task writes, and the task for the shape of a published capture of
// the vendor runtime (RKNN's own stream for an fp16 1×1 convolution, input 1×1×1024, 1001 output
// channels: allbilly/rk3588, decoded/c1024_h1_oc1001.json, its first task) is compared with it
// register by register. The capture's values below were read off that file; every difference is
// asserted as the difference it is, and docs/npu.md says why each one is there.
#include <doctest/doctest.h>

#include <map>

#include "npu/matmul_task.h"
#include "npu/regcmd.h"
#include "npu/regcmd_decode.h"

namespace test_npu_streams {

using namespace rockllm::npu;

namespace {

std::map<uint16_t, uint32_t> by_offset(const std::vector<uint64_t>& list) {
    std::map<uint16_t, uint32_t> values;
    for (uint64_t e : list)
        if (e != 0 && e != kPreOpEnableEntry) values[decode_entry(e).offset] = decode_entry(e).value;
    return values;
}

// The vendor runtime's first task for the capture's shape (only the registers the decoded file
// holds; addresses left out).
const std::map<uint16_t, uint32_t> kCapture = {
    {cna::kCbufCon0.offset, 177},           {cna::kDataSize0.offset, 65537},         {cna::kDataSize1.offset, 4129792},
    {cna::kDataSize3.offset, 1},            {cna::kFcDataSize0.offset, 65537},       {cna::kFcDataSize1.offset, 1024},
    {cna::kDmaCon2.offset, 268435453},      {cna::kWeightSize0.offset, 2050048},     {cna::kWeightSize1.offset, 2048},
    {cna::kWeightSize2.offset, 16843753},   {cna::kConvCon1.offset, 288},            {cna::kConvCon2.offset, 32},
    {core::kDataoutSize0.offset, 0},        {core::kDataoutSize1.offset, 1007},      {dpu::kDstSurfStride.offset, 16},
    {dpu::kDataCubeHeight.offset, 0},       {dpu::kDataCubeChannel.offset, 65537007}, {dpu::kWdmaSize0.offset, 1007},
    {dpu::kWdmaSize1.offset, 0},            {dpu::kSurfaceAdd.offset, 32},
};

}  // namespace

TEST_SUITE_BEGIN("npu");

TEST_CASE("NPU streams: the disassembler names every register a matmul task writes, and the tail in words") {
    for (const MatmulType type : {MatmulType::Int8, MatmulType::Fp16}) {
        const std::vector<uint64_t> list = build_matmul_task({4, 64, 32}, type, {0x1000, 0x2000, 0x3000});
        for (uint64_t e : list)
            if (e != 0 && e != kPreOpEnableEntry && decode_entry(e).target != kOpEnableTarget)
                CHECK_MESSAGE(!register_name(decode_entry(e).offset).empty(), decode_entry(e).offset);
        const std::string text = decode_list(list);
        CHECK(text.find("CNA.CONV_CON1") != std::string::npos);
        CHECK(text.find("op-enable 0x0d: CNA CORE DPU") != std::string::npos);
        CHECK(text.find("end of chain") != std::string::npos);
        CHECK(text.find("(unnamed)") == std::string::npos);
    }
    std::vector<uint64_t> linked = build_matmul_task({4, 64, 32}, MatmulType::Int8, {0x1000, 0x2000, 0x3000});
    link_tail(linked.data(), static_cast<uint32_t>(linked.size()), 0x8000, 80);
    CHECK(decode_list(linked).find("fetch 80 entries next") != std::string::npos);
}

TEST_CASE("NPU streams: the task for a captured vendor shape, register by register against the vendor runtime's") {
    // Our matmul of that shape: M = 1 padded to 4 rows, K = 1024, N = 1001 padded to 1008, fp16.
    const auto ours = by_offset(build_matmul_task({4, 1024, 1008}, MatmulType::Fp16, {0x1000, 0x10000, 0x400000}));
    auto field = [](uint32_t value, Field f) { return f.get(value); };
    auto both = [&](Register r, Field f) { return std::pair{field(ours.at(r.offset), f), field(kCapture.at(r.offset), f)}; };

    // The same values: precisions, channels, kernel geometry, bytes per kernel, banks, output channels.
    CHECK(ours.at(cna::kConvCon1.offset) == kCapture.at(cna::kConvCon1.offset));
    CHECK(ours.at(cna::kWeightSize1.offset) == kCapture.at(cna::kWeightSize1.offset));
    CHECK(ours.at(cna::kFcDataSize1.offset) == kCapture.at(cna::kFcDataSize1.offset));
    CHECK(ours.at(cna::kCbufCon0.offset) == kCapture.at(cna::kCbufCon0.offset));
    CHECK(ours.at(core::kDataoutSize1.offset) == kCapture.at(core::kDataoutSize1.offset));
    CHECK(ours.at(dpu::kWdmaSize0.offset) == kCapture.at(dpu::kWdmaSize0.offset));
    for (const auto& [r, f] : {std::pair{cna::kDataSize1, cna::kDatainChannel}, {cna::kDataSize0, cna::kDatainWidth},
                               {cna::kWeightSize2, cna::kWeightWidth}, {cna::kWeightSize2, cna::kWeightHeight},
                               {cna::kConvCon2, cna::kKernelGroup}, {dpu::kDataCubeChannel, dpu::kChannelMinus1}}) {
        const auto [a, b] = both(r, f);
        CHECK_MESSAGE(a == b, register_name(r.offset));
    }

    // The rows: the vendor runs the one row (H = 1), we run M padded to 4; every row-counting
    // field is the same function of the rows (rows, rows - 1, rows + 1, 16·rows, rows - 4).
    CHECK(both(cna::kDataSize0, cna::kDatainHeight) == std::pair{4u, 1u});
    CHECK(both(cna::kFcDataSize0, cna::kDmaHeight) == std::pair{4u, 1u});
    CHECK(both(cna::kDataSize3, cna::kDataoutAtomics) == std::pair{4u, 1u});
    CHECK(both(cna::kConvCon2, cna::kFeatureGrains) == std::pair{5u, 2u});
    CHECK(both(core::kDataoutSize0, core::kDataoutHeightMinus1) == std::pair{3u, 0u});
    CHECK(both(dpu::kDataCubeHeight, dpu::kCubeMinus1) == std::pair{3u, 0u});
    CHECK(both(dpu::kWdmaSize1, dpu::kWdmaHeightMinus1) == std::pair{3u, 0u});
    CHECK(ours.at(dpu::kDstSurfStride.offset) == 16 * 4);
    CHECK(kCapture.at(dpu::kDstSurfStride.offset) == 16 * 1);
    CHECK(both(cna::kDmaCon2, cna::kSurfStride) == std::pair{0u, (1u << 28) - 3});  // rows - 4, in 28 bits

    // The differences, each what docs/npu.md explains:
    // datain_channel_real: the vendor writes 63 here, we K - 1 (1023, as MTX's tested recipe).
    CHECK(both(cna::kDataSize1, cna::kDatainChannelRealMinus1) == std::pair{1023u, 63u});
    // Kernels: the vendor counts the 1001 real ones, we the 1008 of the padded (zero) weights.
    CHECK(both(cna::kWeightSize2, cna::kWeightKernels) == std::pair{1008u, 1001u});
    CHECK(ours.at(cna::kWeightSize0.offset) == 1008u * 2048u);
    CHECK(kCapture.at(cna::kWeightSize0.offset) == 1001u * 2048u);
    CHECK(both(dpu::kDataCubeChannel, dpu::kOrigChannelMinus1) == std::pair{1007u, 1000u});
    // SURFACE_ADD: rows × 2 for the capture's fp16 output, rows × 4 for our fp32 output.
    CHECK((ours.at(dpu::kSurfaceAdd.offset) >> 4) == 4 * 4);
    CHECK((kCapture.at(dpu::kSurfaceAdd.offset) >> 4) == 1 * 2);
}

TEST_SUITE_END();

}  // namespace test_npu_streams
