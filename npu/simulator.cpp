#include "npu/simulator.h"
#include "base/half.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <span>
#include <vector>

#include "npu/matmul_layout.h"

namespace rockllm::npu {

namespace {

std::string hex(uint32_t v) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "0x%04x", v);
    return buffer;
}

// The block whose register page holds an offset (0x1000 CNA, 0x3000 CORE, ...).
bool target_matches(uint16_t target, uint16_t offset) {
    switch (offset >> 12) {
        case 0x0: return target == static_cast<uint16_t>(Block::Pc);
        case 0x1: return target == static_cast<uint16_t>(Block::Cna);
        case 0x3: return target == static_cast<uint16_t>(Block::Core);
        case 0x4: return target == static_cast<uint16_t>(Block::Dpu);
        case 0x5: return target == static_cast<uint16_t>(Block::DpuRdma);
        default: return false;
    }
}

}  // namespace

Simulator::Simulator(DeviceMemory memory, TimingModel timing) : memory_(std::move(memory)), timing_(timing) {}

uint32_t Simulator::reg(Register r) const {
    const auto it = registers_.find(r.offset);
    if (it == registers_.end() || !written_.count(r.offset))
        throw NpuError("register " + hex(r.offset) + " was not written in this task: the core would use what an earlier task left there");
    return it->second;
}

double Simulator::run_task(uint64_t regcmd_iova, uint32_t regcmd_count) {
    if (regcmd_count < kTailEntries) throw NpuError("a task needs at least its 4-entry tail");
    return fetch_and_run(regcmd_iova, fetched_entries(pc_data_amount(regcmd_count)));
}

Simulator::ChainResult Simulator::run_chain(uint64_t first_iova, uint32_t first_pc_data_amount, uint32_t task_number) {
    if (task_number == 0) throw NpuError("a chain of no tasks: the core never raises its interrupt");
    ChainResult result;
    uint64_t iova = first_iova;
    uint32_t amount = first_pc_data_amount;
    for (uint32_t done = 0;;) {
        result.seconds += fetch_and_run(iova, fetched_entries(amount));
        if (++done == task_number) break;
        // The tail of the task just run says where the next list is and how much of it to fetch.
        amount = written_.count(pc::kRegisterAmounts.offset) ? registers_[pc::kRegisterAmounts.offset] & kPcDataAmountMask : 0;
        if (amount == 0)
            throw NpuError("task " + std::to_string(done) + " of " + std::to_string(task_number) +
                           " ends the chain (its tail sets no next list): the PC stops and the job's interrupt never comes");
        if (!written_.count(pc::kBaseAddress.offset))
            throw NpuError("task " + std::to_string(done) + "'s tail gives an amount but no PC_BASE_ADDRESS for the next list");
        iova = registers_[pc::kBaseAddress.offset] & kPcSourceAddressMask;
    }
    result.interrupt_status = pc::kDpuDoneInterrupts;  // every task execute() runs ends in a DPU write-out
    return result;
}

double Simulator::fetch_and_run(uint64_t iova, uint32_t fetched) {
    const uint8_t* bytes = memory_(iova, size_t{fetched} * 8);
    written_.clear();
    for (uint32_t i = 0; i < fetched; ++i) {
        uint64_t entry;
        std::memcpy(&entry, bytes + size_t{i} * 8, 8);
        if (entry == 0 || entry == kPreOpEnableEntry) continue;
        const DecodedEntry e = decode_entry(entry);
        if (e.target == kOpEnableTarget && e.offset == pc::kOperationEnable.offset) {
            for (uint32_t j = i + 1; j < fetched; ++j) {
                std::memcpy(&entry, bytes + size_t{j} * 8, 8);
                if (entry != 0) throw NpuError("the PC fetched entries after the op-enable entry (an odd list fetched a word past its end?)");
            }
            return execute(e.value);
        }
        if (!target_matches(e.target, e.offset))
            throw NpuError("regcmd entry " + std::to_string(i) + ": target " + hex(e.target) + " does not address register " + hex(e.offset));
        registers_[e.offset] = e.value;
        written_.insert(e.offset);
    }
    throw NpuError("the task's regcmd has no op-enable entry: the core would never start");
}

double Simulator::execute(uint32_t enable_mask) {
    const Task task = validate(enable_mask);
    const Operands operands = unpack(task);
    compute(task, operands);
    return account(task);
}

Simulator::Task Simulator::validate(uint32_t enable_mask) const {
    auto require = [](bool ok, Register r, const std::string& what) {
        if (!ok) throw NpuError("simulator: register " + hex(r.offset) + ": " + what + " is not a configuration this simulator models");
    };
    const uint32_t needed = enable::kCna | enable::kCore | enable::kDpu;
    require((enable_mask & needed) == needed, pc::kOperationEnable, "an op-enable mask without CNA, CORE and DPU");
    require((enable_mask & ~(needed | enable::kDpuRdma)) == 0, pc::kOperationEnable, "an op-enable mask with PPU blocks");
    // An enabled block runs on all of its registers: one this task did not write holds what an
    // earlier task (or process) left. DPU_RDMA's are every register Mesa programs for it; the
    // matmul leaves that block off (0x0D, as the vendor's convolution tasks).
    const auto require_configuration = [&](uint32_t bit, const char* block, std::span<const uint16_t> configuration) {
        if (!(enable_mask & bit)) return;
        for (uint16_t offset : configuration)
            if (!written_.count(offset))
                throw NpuError(std::string("simulator: ") + block + " is enabled but its register " + hex(offset) +
                               " was not written in this task (enable a block only with its whole configuration)");
    };
    require_configuration(enable::kCna, "CNA", cna::kConfiguration);
    require_configuration(enable::kCore, "CORE", core::kConfiguration);
    require_configuration(enable::kDpu, "DPU", dpu::kConfiguration);
    require_configuration(enable::kDpuRdma, "DPU_RDMA", dpu_rdma::kConfiguration);

    // The operation: a direct 1×1 convolution, stride 1, writing to memory with no post-processing.
    require(field(cna::kConvCon1, cna::kConvMode) == 0, cna::kConvCon1, "a convolution mode other than direct");
    const uint32_t in = field(cna::kConvCon1, cna::kInPrecision);
    require(in == field(cna::kConvCon1, cna::kProcPrecision) && (in == uint32_t(Precision::Int8) || in == uint32_t(Precision::Fp16)),
            cna::kConvCon1, "a precision other than int8 or fp16");
    const bool int8 = in == uint32_t(Precision::Int8);
    const MatmulType type = int8 ? MatmulType::Int8 : MatmulType::Fp16;
    require(field(core::kMiscCfg, core::kProcPrecision) == in, core::kMiscCfg, "a CORE precision unlike CNA's");
    require(field(dpu::kDataFormat, dpu::kInPrecision) == in && field(dpu::kDataFormat, dpu::kProcPrecision) == in,
            dpu::kDataFormat, "a DPU input precision unlike CNA's");
    const uint32_t out = field(dpu::kDataFormat, dpu::kOutPrecision);
    require(out == uint32_t(int8 ? Precision::Int32 : Precision::Fp32), dpu::kDataFormat, "an output precision other than int32/fp32");
    require(field(cna::kConvCon3, cna::kConvXStride) == 1 && field(cna::kConvCon3, cna::kConvYStride) == 1, cna::kConvCon3, "a stride other than 1");
    require(field(cna::kWeightSize2, cna::kWeightWidth) == 1 && field(cna::kWeightSize2, cna::kWeightHeight) == 1, cna::kWeightSize2, "a kernel other than 1×1");
    require(field(cna::kDataSize0, cna::kDatainWidth) == 1, cna::kDataSize0, "a feature width other than 1");
    require(reg(dpu::kBsCfg) == dpu::kBsAllBypass && reg(dpu::kBnCfg) == dpu::kBnAllBypass && reg(dpu::kEwCfg) == dpu::kEwAllBypass,
            dpu::kBsCfg, "a DPU with a post-processing stage enabled");
    require(field(dpu::kFeatureModeCfg, dpu::kOutputMode) == dpu::kOutputToMemory && field(dpu::kFeatureModeCfg, dpu::kFlyingMode) == 0,
            dpu::kFeatureModeCfg, "a DPU not writing to memory");
    require(reg(cna::kDcompCtrl) == 0, cna::kDcompCtrl, "weight decompression");

    // The sizes, each from the register that holds it, and their agreement everywhere else.
    const int64_t m = field(cna::kDataSize0, cna::kDatainHeight);
    const int64_t k = field(cna::kDataSize1, cna::kDatainChannel);
    const int64_t n = field(cna::kWeightSize2, cna::kWeightKernels);
    const int64_t bpe = int8 ? 1 : 2;
    require(m > 0 && m % 4 == 0, cna::kDataSize0, "a height that is not a positive multiple of 4");
    require(k > 0 && k % 32 == 0 && field(cna::kDataSize1, cna::kDatainChannelRealMinus1) == k - 1, cna::kDataSize1,
            "a channel count that is not a multiple of 32");
    require(n > 0 && n % (int8 ? 32 : 16) == 0, cna::kWeightSize2, "a kernel count off the kernel-group alignment");
    require(reg(cna::kWeightSize0) == uint32_t(n * k * bpe), cna::kWeightSize0, "a weight size unlike N·K");
    require(field(cna::kWeightSize1, cna::kWeightBytesPerKernel) == k * bpe, cna::kWeightSize1, "bytes per kernel unlike K");
    require(field(core::kDataoutSize0, core::kDataoutHeightMinus1) == m - 1 && field(core::kDataoutSize1, core::kDataoutChannelMinus1) == n - 1,
            core::kDataoutSize0, "a CORE output cube unlike M×N");
    require(field(dpu::kDataCubeHeight, dpu::kCubeMinus1) == m - 1 && field(dpu::kDataCubeChannel, dpu::kChannelMinus1) == n - 1,
            dpu::kDataCubeHeight, "a DPU cube unlike M×N");
    require(field(dpu::kWdmaSize0, dpu::kWdmaChannelMinus1) == n - 1 && field(dpu::kWdmaSize1, dpu::kWdmaHeightMinus1) == m - 1,
            dpu::kWdmaSize0, "a write-DMA size unlike M×N");
    require(field(cna::kDmaCon1, cna::kLineStride) == 4 && field(cna::kDmaCon2, cna::kSurfStride) == uint32_t(4 * (m / 4 - 1)),
            cna::kDmaCon1, "feature strides other than the known-good dense ones");
    const int banks = static_cast<int>(field(cna::kCbufCon0, cna::kDataBank));
    // Counted in 128-byte entries per feature row (Mesa's count, the stricter one).
    require(banks * cna::kCbufBankEntries >= m * cna::cbuf_entries_per_row(k * bpe) &&
                banks + static_cast<int>(field(cna::kCbufCon0, cna::kWeightBank)) <= cna::kCbufBanks,
            cna::kCbufCon0, "CBUF banks that do not hold the feature data");
    const uint32_t surface_stride = reg(dpu::kDstSurfStride);
    require(surface_stride % 16 == 0 && surface_stride >= m * 16, dpu::kDstSurfStride, "an output surface stride smaller than M atoms");

    Task task{{m, k, n}, type, reg(cna::kFeatureDataAddr), reg(cna::kDcompAddr0), reg(dpu::kDstBaseAddr), surface_stride};
    require(task.weights_iova % 16 == 0, cna::kDcompAddr0, "a weight address that is not 16-byte aligned");
    require(task.output_iova % 16 == 0, dpu::kDstBaseAddr, "an output address that is not 16-byte aligned");
    return task;
}

// Reads the operands out of their hardware layouts once — a 16-byte atom of A, a 32-element kernel
// row segment of B at a time — so that the arithmetic has no layout offsets in its inner loop.
Simulator::Operands Simulator::unpack(const Task& task) const {
    const MatmulShape& shape = task.shape;
    const MatmulType type = task.type;
    const int64_t m = shape.m, k = shape.k, n = shape.n;
    const bool int8 = type == MatmulType::Int8;
    const int64_t bpe = int8 ? 1 : 2;
    const uint8_t* a = memory_(task.feature_iova, feature_bytes(shape, type));
    const uint8_t* b = memory_(task.weights_iova, weight_bytes(shape, type));
    const int64_t lanes = 16 / bpe;  // A's atom: 16 bytes of K
    const int64_t group = int8 ? 32 : 16;                  // kernels per weight tile
    Operands operands{std::vector<uint8_t>(static_cast<size_t>(m * k * bpe)), std::vector<uint8_t>(static_cast<size_t>(n * k * bpe))};
    std::vector<uint8_t>& rows = operands.rows;
    std::vector<uint8_t>& kernels = operands.kernels;
    for (int64_t g = 0; g < k / lanes; ++g)
        for (int64_t r = 0; r < m; ++r)
            std::memcpy(&rows[static_cast<size_t>((r * k + g * lanes) * bpe)], a + feature_offset(shape, type, r, g * lanes), 16);
    for (int64_t ng = 0; ng < n / group; ++ng)
        for (int64_t kb = 0; kb < k / 32; ++kb) {
            const uint8_t* tile = b + weight_offset(shape, type, ng * group, kb * 32);
            for (int64_t nn = 0; nn < group; ++nn)
                std::memcpy(&kernels[static_cast<size_t>(((ng * group + nn) * k + kb * 32) * bpe)], tile + static_cast<size_t>(nn * 32 * bpe),
                            static_cast<size_t>(32 * bpe));
        }
    return operands;
}

// Multiplies row by row, as the hardware's int8 (exact int32) or fp16 (fp32 accumulation) path.
void Simulator::compute(const Task& task, const Operands& operands) {
    const int64_t m = task.shape.m, k = task.shape.k, n = task.shape.n;
    const bool int8 = task.type == MatmulType::Int8;
    const size_t surface_stride = task.surface_stride;
    uint8_t* c = memory_(task.output_iova, static_cast<size_t>(n / 4 - 1) * surface_stride + static_cast<size_t>(m) * 16);
    const std::vector<uint8_t>& rows = operands.rows;
    const std::vector<uint8_t>& kernels = operands.kernels;
    auto store = [&](int64_t row, int64_t col, const void* value) {
        std::memcpy(c + static_cast<size_t>(col / 4) * surface_stride + static_cast<size_t>(row * 16 + (col % 4) * 4), value, 4);
    };
    if (int8) {
        const auto* x8 = reinterpret_cast<const int8_t*>(rows.data());
        const auto* w8 = reinterpret_cast<const int8_t*>(kernels.data());
        for (int64_t r = 0; r < m; ++r) {
            const int8_t* x = x8 + r * k;
            // A row of zeros (M's padding to a multiple of 4) gives zeros: no need to multiply it.
            const bool zero_row = std::all_of(x, x + k, [](int8_t v) { return v == 0; });
            for (int64_t j = 0; j < n; ++j) {
                const int8_t* y = w8 + j * k;
                int32_t sum = 0;  // exact: |sum| ≤ K·2^14 stays far inside int32 for any K a task takes
                if (!zero_row)
                    for (int64_t i = 0; i < k; ++i) sum += int32_t{x[i]} * int32_t{y[i]};
                store(r, j, &sum);
            }
        }
    } else {
        std::vector<float> xf(static_cast<size_t>(m * k)), wf(static_cast<size_t>(n * k));
        auto widen = [](const std::vector<uint8_t>& from, std::vector<float>& to) {
            for (size_t i = 0; i < to.size(); ++i) {
                uint16_t h;
                std::memcpy(&h, &from[i * 2], 2);
                to[i] = fp16_to_fp32(h);
            }
        };
        widen(rows, xf);
        widen(kernels, wf);
        for (int64_t r = 0; r < m; ++r)
            for (int64_t j = 0; j < n; ++j) {
                const float* x = &xf[size_t(r * k)];
                const float* y = &wf[size_t(j * k)];
                float sum = 0;  // fp16 products are exact in fp32; accumulated in fp32, in K order
                for (int64_t i = 0; i < k; ++i) sum += x[i] * y[i];
                store(r, j, &sum);
            }
    }

}

double Simulator::account(const Task& task) {
    const TaskCost cost = project_task(task.shape, task.type, timing_);
    counters_.tasks += 1;
    counters_.macs += cost.macs;
    counters_.bytes_read += cost.bytes_read;
    counters_.bytes_written += cost.bytes_written;
    counters_.projected_seconds += cost.seconds;
    return cost.seconds;
}

TimingModel worst_case_timing() {
    TimingModel t;
    t.clock_hz = 200e6;
    return t;
}

TaskCost project_task(MatmulShape padded, MatmulType type, const TimingModel& timing) {
    TaskCost cost;
    cost.macs = static_cast<uint64_t>(padded.m * padded.n * padded.k);
    cost.bytes_read = feature_bytes(padded, type) + weight_bytes(padded, type);
    cost.bytes_written = output_bytes(padded);
    const double macs_per_s = (type == MatmulType::Int8 ? timing.int8_macs_per_cycle : timing.fp16_macs_per_cycle) *
                              timing.clock_hz * timing.mac_efficiency;
    const double compute = static_cast<double>(cost.macs) / macs_per_s;
    const double transfer = static_cast<double>(cost.bytes_read + cost.bytes_written) / timing.dram_bytes_per_s;
    cost.seconds = std::max(compute, transfer) + timing.task_overhead_s;
    return cost;
}

}  // namespace rockllm::npu
