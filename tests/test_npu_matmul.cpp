// The NPU matmul path below the driver: packing, the regcmd of one task, and the register-level
// simulator executing it from device memory; results against a CPU reference (exact for int8,
// within a stated bound for fp16). Hostile inputs give clear errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>

#include "llm/ggml_type.h"
#include "base/half.h"
#include "npu/matmul_layout.h"
#include "npu/device.h"
#include "npu/matmul_plan.h"
#include "npu/matmul_task.h"
#include "npu/npu_matmul.h"
#include "npu/regcmd.h"
#include "npu/rknpu_subcore.h"
#include "npu/simulator.h"

namespace test_npu_matmul {

using namespace rockllm;
using namespace rockllm::npu;

namespace {

// Buffers at IOVAs, as a per-fd address space would hold them.
class Arena {
public:
    uint64_t add(size_t bytes) {
        const uint64_t iova = next_;
        buffers_[iova].assign(bytes, 0);
        next_ += (bytes + 4095) / 4096 * 4096 + 4096;  // page aligned, with a gap between buffers
        return iova;
    }
    uint8_t* host(uint64_t iova) { return buffers_.at(iova).data(); }
    DeviceMemory memory() {
        return [this](uint64_t iova, size_t bytes) -> uint8_t* {
            auto it = buffers_.upper_bound(iova);
            if (it == buffers_.begin()) throw NpuError("IOMMU fault");
            --it;
            if (iova + bytes > it->first + it->second.size()) throw NpuError("IOMMU fault");
            return it->second.data() + (iova - it->first);
        };
    }

private:
    std::map<uint64_t, std::vector<uint8_t>> buffers_;
    uint64_t next_ = 0x1000;
};

struct Problem {
    MatmulShape shape;
    MatmulType type;
    std::vector<int8_t> a8, b8;      // Int8
    std::vector<uint16_t> a16, b16;  // Fp16 bits
};

Problem random_problem(MatmulShape s, MatmulType type, uint32_t seed) {
    std::mt19937 rng(seed);
    Problem p{s, type, {}, {}, {}, {}};
    if (type == MatmulType::Int8) {
        std::uniform_int_distribution<int> d(-128, 127);
        p.a8.resize(static_cast<size_t>(s.m * s.k));
        p.b8.resize(static_cast<size_t>(s.n * s.k));
        for (auto& x : p.a8) x = static_cast<int8_t>(d(rng));
        for (auto& x : p.b8) x = static_cast<int8_t>(d(rng));
    } else {
        std::normal_distribution<float> d(0.0f, 1.0f);
        p.a16.resize(static_cast<size_t>(s.m * s.k));
        p.b16.resize(static_cast<size_t>(s.n * s.k));
        for (auto& x : p.a16) x = fp32_to_fp16(d(rng));
        for (auto& x : p.b16) x = fp32_to_fp16(d(rng));
    }
    return p;
}

// Runs one task through the simulator and returns C (M×N, 32-bit values).
std::vector<uint32_t> run_on_simulator(const Problem& p, Simulator& sim, Arena& arena) {
    const MatmulShape padded = padded_shape(p.shape, p.type);
    MatmulAddresses addresses{arena.add(feature_bytes(padded, p.type)), arena.add(weight_bytes(padded, p.type)), arena.add(output_bytes(padded))};
    const void* a = p.type == MatmulType::Int8 ? static_cast<const void*>(p.a8.data()) : p.a16.data();
    const void* b = p.type == MatmulType::Int8 ? static_cast<const void*>(p.b8.data()) : p.b16.data();
    pack_feature(a, p.shape.k, p.shape, p.type, arena.host(addresses.feature));
    pack_weights(b, p.shape.k, p.shape, p.type, arena.host(addresses.weights));
    const std::vector<uint64_t> regcmd = build_matmul_task(padded, p.type, addresses);
    const uint64_t regcmd_iova = arena.add(regcmd.size() * 8);
    std::memcpy(arena.host(regcmd_iova), regcmd.data(), regcmd.size() * 8);
    sim.run_task(regcmd_iova, static_cast<uint32_t>(regcmd.size()));
    std::vector<uint32_t> c(static_cast<size_t>(p.shape.m * p.shape.n));
    unpack_output(arena.host(addresses.output), p.shape, p.type, c.data(), p.shape.n);
    return c;
}

}  // namespace

TEST_SUITE_BEGIN("npu");

TEST_CASE("NPU matmul: int8 and fp16 single tasks in the simulator equal the CPU reference") {
    int checked = 0;
    for (const MatmulType type : {MatmulType::Int8, MatmulType::Fp16})
        for (const int64_t m : {1, 2, 7, 64, 129})
            for (const int64_t k : {8, 32, 100, 512, 1000})
                for (const int64_t n : {8, 48, 100, 512}) {
                    const MatmulShape shape{m, k, n};
                    CAPTURE(m);
                    CAPTURE(k);
                    CAPTURE(n);
                    CAPTURE(int(type));
                    REQUIRE(fits_one_task(padded_shape(shape, type), type));
                    const Problem p = random_problem(shape, type, static_cast<uint32_t>(m * 7919 + k * 31 + n));
                    Arena arena;
                    Simulator sim(arena.memory());
                    const std::vector<uint32_t> c = run_on_simulator(p, sim, arena);
                    bool all_equal = true;
                    for (int64_t i = 0; i < m && all_equal; ++i)
                        for (int64_t j = 0; j < n && all_equal; ++j) {
                            const uint32_t bits = c[static_cast<size_t>(i * n + j)];
                            if (type == MatmulType::Int8) {
                                int64_t reference = 0;
                                for (int64_t x = 0; x < k; ++x) reference += int64_t(p.a8[size_t(i * k + x)]) * p.b8[size_t(j * k + x)];
                                all_equal = int32_t(bits) == reference;  // exact
                            } else {
                                double reference = 0, magnitude = 0;
                                for (int64_t x = 0; x < k; ++x) {
                                    const double product = double(fp16_to_fp32(p.a16[size_t(i * k + x)])) * fp16_to_fp32(p.b16[size_t(j * k + x)]);
                                    reference += product;
                                    magnitude += std::abs(product);
                                }
                                float value;
                                std::memcpy(&value, &bits, 4);
                                // fp32 accumulation of exact products: error below K·2^-24 of the magnitudes.
                                all_equal = std::abs(value - reference) <= double(k) * 0x1p-24 * magnitude + 1e-30;
                            }
                        }
                    CHECK(all_equal);
                    CHECK(sim.counters().tasks == 1);
                    CHECK(sim.counters().macs == uint64_t(padded_shape(shape, type).m * padded_shape(shape, type).k * padded_shape(shape, type).n));
                    CHECK(sim.counters().projected_seconds > 0);
                    ++checked;
                }
    CHECK(checked == 200);
}

TEST_CASE("NPU matmul: the task builder refuses what the hardware cannot take") {
    const MatmulShape ok{64, 512, 64};
    const MatmulAddresses good{0x1000, 0x20000, 0x40000};
    CHECK(build_matmul_task(ok, MatmulType::Int8, good).size() > 50);
    CHECK_THROWS_WITH_AS(build_matmul_task({0, 32, 32}, MatmulType::Int8, good), "matmul sizes must be positive", NpuError);
    CHECK_THROWS_WITH_AS(build_matmul_task({64, 100, 64}, MatmulType::Int8, good), doctest::Contains("not padded"), NpuError);
    CHECK_THROWS_WITH_AS(build_matmul_task({64, 512, 16}, MatmulType::Int8, good), doctest::Contains("N%32"), NpuError);
    CHECK_THROWS_WITH_AS(build_matmul_task(ok, MatmulType::Int8, {0x1008, 0x20000, 0x40000}), doctest::Contains("16-byte"), NpuError);
    CHECK_THROWS_WITH_AS(build_matmul_task(ok, MatmulType::Int8, {0x1000, 0x20000, 0xFFFFFF00}), doctest::Contains("32-bit address window"), NpuError);
    CHECK_THROWS_WITH_AS(build_matmul_task(ok, MatmulType::Int8, {0x1000, uint64_t{1} << 33, 0x40000}), doctest::Contains("32-bit"), NpuError);
    CHECK_THROWS_WITH_AS(build_matmul_task({1024, 4096, 64}, MatmulType::Int8, good), doctest::Contains("does not fit one NPU task"), NpuError);
    CHECK_THROWS_WITH_AS(build_matmul_task({64, 32768, 64}, MatmulType::Fp16, good), doctest::Contains("does not fit"), NpuError);
}

TEST_CASE("NPU simulator: refuses streams and configurations it does not model, naming the register") {
    Arena arena;
    Simulator sim(arena.memory());
    const MatmulShape shape{4, 32, 32};
    MatmulAddresses addresses{arena.add(feature_bytes(shape, MatmulType::Int8)), arena.add(weight_bytes(shape, MatmulType::Int8)),
                              arena.add(output_bytes(shape))};
    const std::vector<uint64_t> good = build_matmul_task(shape, MatmulType::Int8, addresses);
    auto run = [&](std::vector<uint64_t> regcmd) {
        const uint64_t iova = arena.add(regcmd.size() * 8);
        std::memcpy(arena.host(iova), regcmd.data(), regcmd.size() * 8);
        sim.run_task(iova, static_cast<uint32_t>(regcmd.size()));
    };
    CHECK_NOTHROW(run(good));
    auto patched = [&](Register r, uint32_t value) {
        std::vector<uint64_t> regcmd = good;
        for (uint64_t& e : regcmd)
            if (decode_entry(e).offset == r.offset && decode_entry(e).target == uint16_t(r.block)) e = encode_entry(uint16_t(r.block), value, r.offset);
        return regcmd;
    };
    CHECK_THROWS_WITH_AS(run(patched(cna::kConvCon1, 3)), doctest::Contains("register 0x100c"), NpuError);         // depthwise
    CHECK_THROWS_WITH_AS(run(patched(dpu::kBsCfg, 0)), doctest::Contains("register 0x4040"), NpuError);             // bias stage on
    CHECK_THROWS_WITH_AS(run(patched(cna::kDcompAddr0, 0x1008)), doctest::Contains("register 0x1110"), NpuError);   // misaligned
    CHECK_THROWS_WITH_AS(run(patched(cna::kFeatureDataAddr, 0x7fff0000)), doctest::Contains("IOMMU fault"), NpuError);
    std::vector<uint64_t> no_tail(good.begin(), good.end() - 2);  // an even list, so that the fetch ends with it
    CHECK_THROWS_WITH_AS(run(no_tail), doctest::Contains("no op-enable"), NpuError);
    // An odd list is fetched a 128-bit word at a time: the word past its end is read too.
    std::vector<uint64_t> odd(good.begin(), good.end() - 1);
    CHECK_THROWS_WITH_AS(run(odd), doctest::Contains("IOMMU fault"), NpuError);
    std::vector<uint64_t> wrong_target = good;
    wrong_target[3] = encode_entry(uint16_t(Block::Core), 0, cna::kConvCon1.offset);
    CHECK_THROWS_WITH_AS(run(wrong_target), doctest::Contains("does not address"), NpuError);
    CHECK_THROWS_AS(sim.run_task(0x7fff0000, 10), NpuError);
}

TEST_CASE("NPU matmul: large shapes split into tasks (M blocks, N blocks, K blocks summed) match the reference") {
    struct Case {
        MatmulShape shape;
        MatmulType type;
    };
    for (const Case& c : {Case{{129, 9000, 40}, MatmulType::Int8}, Case{{700, 2048, 33}, MatmulType::Int8},
                          Case{{2, 4500, 4200}, MatmulType::Int8}, Case{{129, 8300, 20}, MatmulType::Fp16},
                          Case{{1, 896, 4864}, MatmulType::Fp16}}) {
        const MatmulShape s = c.shape;
        CAPTURE(s.m);
        CAPTURE(s.k);
        CAPTURE(s.n);
        const MatmulPlan plan = plan_matmul(s, c.type);
        CHECK(!plan.tiles.empty());
        const Problem p = random_problem(s, c.type, static_cast<uint32_t>(s.m + s.k + s.n));
        SimulatedDevice device;
        const void* b = c.type == MatmulType::Int8 ? static_cast<const void*>(p.b8.data()) : p.b16.data();
        const void* a = c.type == MatmulType::Int8 ? static_cast<const void*>(p.a8.data()) : p.a16.data();
        NpuMatmul matmul(device, c.type, s.n, s.k, b);
        std::vector<uint32_t> out(static_cast<size_t>(s.m * s.n));
        matmul.run(a, s.m, out.data());
        CHECK(device.counters().tasks == plan.tiles.size());
        // Check a spread of entries against the reference (all of them would take long at these sizes).
        int mismatches = 0;
        for (int64_t i = 0; i < s.m; i += std::max<int64_t>(1, s.m / 7))
            for (int64_t j = 0; j < s.n; j += std::max<int64_t>(1, s.n / 11)) {
                double reference = 0, magnitude = 0;
                for (int64_t x = 0; x < s.k; ++x) {
                    const double product = c.type == MatmulType::Int8
                                               ? double(p.a8[size_t(i * s.k + x)]) * p.b8[size_t(j * s.k + x)]
                                               : double(fp16_to_fp32(p.a16[size_t(i * s.k + x)])) * fp16_to_fp32(p.b16[size_t(j * s.k + x)]);
                    reference += product;
                    magnitude += std::abs(product);
                }
                const uint32_t bits = out[size_t(i * s.n + j)];
                if (c.type == MatmulType::Int8) {
                    mismatches += int32_t(bits) != reference;
                } else {
                    float v;
                    std::memcpy(&v, &bits, 4);
                    mismatches += std::abs(v - reference) > double(s.k) * 0x1p-24 * magnitude + 1e-30;
                }
            }
        CHECK(mismatches == 0);
    }
    // K blocks of 8192 + 808; rows in 11 banks of 32 KiB at 8192 bytes a row: 44, so 3 M blocks.
    const MatmulPlan split = plan_matmul({129, 9000, 40}, MatmulType::Int8);
    CHECK(split.block_k == 8192);
    CHECK(split.block_m == 44);
    CHECK(split.tiles.size() == 6);
    CHECK(plan_matmul({2, 4500, 4200}, MatmulType::Int8).tiles.size() == 2);   // N: 4096 + 104
    CHECK_THROWS_AS(plan_matmul({0, 32, 32}, MatmulType::Int8), NpuError);
}

TEST_CASE("NPU matmul: repeated calls of one shape reuse their task buffers, another shape rebuilds them") {
    const MatmulShape s{1, 256, 64};
    const Problem p = random_problem(s, MatmulType::Int8, 5);
    SimulatedDevice device;
    NpuMatmul matmul(device, MatmulType::Int8, s.n, s.k, p.b8.data());
    std::vector<int32_t> first(static_cast<size_t>(s.n)), second(static_cast<size_t>(s.n));
    matmul.run(p.a8.data(), 1, first.data());
    matmul.run(p.a8.data(), 1, second.data());
    CHECK(first == second);
    std::vector<int8_t> two_rows(p.a8);
    two_rows.insert(two_rows.end(), p.a8.begin(), p.a8.end());
    std::vector<int32_t> both(static_cast<size_t>(2 * s.n));
    matmul.run(two_rows.data(), 2, both.data());
    CHECK(std::vector<int32_t>(both.begin(), both.begin() + s.n) == first);
    CHECK(std::vector<int32_t>(both.begin() + s.n, both.end()) == first);
    int64_t reference = 0;
    for (int64_t x = 0; x < s.k; ++x) reference += int64_t(p.a8[size_t(x)]) * p.b8[size_t(x)];
    CHECK(first[0] == reference);
}

TEST_CASE("NPU simulator: a chain runs as rknpu's PC mode does, and refuses tails, registers and blocks the hardware would not run") {
    Arena arena;
    Simulator sim(arena.memory());
    const MatmulShape shape{4, 32, 32};
    const Problem p = random_problem(shape, MatmulType::Int8, 11);
    const uint64_t feature = arena.add(feature_bytes(shape, MatmulType::Int8)), weights = arena.add(weight_bytes(shape, MatmulType::Int8));
    pack_feature(p.a8.data(), shape.k, shape, MatmulType::Int8, arena.host(feature));
    pack_weights(p.b8.data(), shape.k, shape, MatmulType::Int8, arena.host(weights));
    const uint64_t out0 = arena.add(output_bytes(shape)), out1 = arena.add(output_bytes(shape));
    // Two tasks' lists in one buffer, the second at a 64-byte boundary; the same product into two outputs.
    std::vector<uint64_t> t0 = build_matmul_task(shape, MatmulType::Int8, {feature, weights, out0});
    std::vector<uint64_t> t1 = build_matmul_task(shape, MatmulType::Int8, {feature, weights, out1});
    REQUIRE(t0.size() % 2 == 0);  // the builder makes lists the PC fetches exactly
    const size_t second = (t0.size() * 8 + 63) / 64 * 64;
    const uint64_t lists = arena.add(second + t1.size() * 8);
    auto place = [&] {
        std::memcpy(arena.host(lists), t0.data(), t0.size() * 8);
        std::memcpy(arena.host(lists) + second, t1.data(), t1.size() * 8);
    };
    auto count = [](const std::vector<uint64_t>& t) { return static_cast<uint32_t>(t.size()); };
    auto out = [&](uint64_t iova) {
        std::vector<int32_t> c(size_t(shape.m * shape.n));
        unpack_output(arena.host(iova), shape, MatmulType::Int8, c.data(), shape.n);
        return c;
    };

    // Linked: the PC finds the second list through the first one's tail, and both outputs are written.
    link_tail(t0.data(), count(t0), lists + second, count(t1));
    place();
    const Simulator::ChainResult chained = sim.run_chain(lists, pc_data_amount(count(t0)), 2);
    CHECK(chained.interrupt_status == pc::kDpuDoneInterrupts);
    CHECK(out(out0) == out(out1));
    int64_t reference = 0;
    for (int64_t x = 0; x < shape.k; ++x) reference += int64_t(p.a8[size_t(x)]) * p.b8[size_t(x)];
    CHECK(out(out1)[0] == reference);

    // Unlinked tails with TASK_NUMBER 2: the PC stops after the first task.
    end_tail(t0.data(), count(t0));
    place();
    CHECK_THROWS_WITH_AS(sim.run_chain(lists, pc_data_amount(count(t0)), 2), doctest::Contains("ends the chain"), NpuError);
    // A chain pointing at nothing mapped is an IOMMU fault.
    link_tail(t0.data(), count(t0), 0x7fff0000, count(t1));
    place();
    CHECK_THROWS_WITH_AS(sim.run_chain(lists, pc_data_amount(count(t0)), 2), doctest::Contains("IOMMU fault"), NpuError);

    // The register file outlives a task, but a task may not lean on it: the second task leaves out
    // a CNA register that the first one wrote.
    end_tail(t0.data(), count(t0));
    std::vector<uint64_t> leaning = t1;
    for (uint64_t& e : leaning)
        if (decode_entry(e).offset == cna::kWeightSize1.offset) e = 0;
    place();
    std::memcpy(arena.host(lists) + second, leaning.data(), leaning.size() * 8);
    CHECK_NOTHROW(sim.run_task(lists, count(t0)));
    CHECK_THROWS_WITH_AS(sim.run_task(lists + second, count(leaning)), doctest::Contains("register 0x1034 was not written in this task"), NpuError);

    // DPU_RDMA enabled (0x1D) with only the few registers the matmul writes for it: refused.
    std::vector<uint64_t> rdma_on = t0;
    rdma_on.back() = encode_entry(kOpEnableTarget, enable::kMatmul | enable::kDpuRdma, pc::kOperationEnable.offset);
    std::memcpy(arena.host(lists), rdma_on.data(), rdma_on.size() * 8);
    CHECK_THROWS_WITH_AS(sim.run_task(lists, count(rdma_on)), doctest::Contains("DPU_RDMA is enabled"), NpuError);
}

TEST_CASE("NPU jobs: tasks split by count and worst-case time, tails chained for rknpu and ended for Rocket,, rewritten only when they change") {
    SimulatedDevice device;
    const DeviceBuffer commands = device.allocate(4 * 64);
    const DeviceBuffer output = device.allocate(64);
    std::vector<TaskRef> tasks;
    for (size_t i = 0; i < 4; ++i) {
        std::vector<uint64_t> list = RegcmdBuilder().write(core::kMiscCfg, 0).finish(enable::kMatmul);
        std::memcpy(commands.host + i * 64, list.data(), list.size() * 8);
        tasks.push_back({commands, i * 64, static_cast<uint32_t>(list.size()), output, 0.1});
    }
    using Ranges = std::vector<std::pair<size_t, size_t>>;
    CHECK(split_into_jobs(tasks, 4095, 0.25) == Ranges{{0, 2}, {2, 4}});
    CHECK(split_into_jobs(tasks, 3, 10) == Ranges{{0, 3}, {3, 4}});
    CHECK(split_into_jobs(tasks, 4095, 0.05) == Ranges{{0, 1}, {1, 2}, {2, 3}, {3, 4}});  // a task over the budget is a job alone

    CHECK(write_tails(tasks, 0, 4, true).size() == 1);
    for (size_t i = 0; i < 3; ++i) {
        const uint64_t* tail = tasks[i].entries() + tasks[i].count - 4;
        CHECK(decode_entry(tail[0]).offset == pc::kBaseAddress.offset);
        CHECK(decode_entry(tail[0]).value == tasks[i + 1].iova());
        CHECK(decode_entry(tail[1]).value == (tasks[i + 1].count + 1) / 2 - 1);
    }
    CHECK(decode_entry(tasks[3].entries()[tasks[3].count - 3]).value == 0);  // the last one ends the chain
    CHECK(write_tails(tasks, 0, 4, true).empty());                            // unchanged: nothing to sync
    CHECK(write_tails(tasks, 0, 4, false).size() == 1);
    for (const TaskRef& t : tasks) CHECK(t.entries()[t.count - 4] == 0);
}

TEST_CASE("rknpu subcore_task: the entry each core runs for a core mask, as rknpu_job.c reads it") {
    CHECK(core_mask_fate(8) == CoreMaskFate::Refused);
    CHECK(core_mask_fate(5) == CoreMaskFate::NeverCommitted);
    CHECK(core_mask_fate(6) == CoreMaskFate::NeverCommitted);
    CHECK(*subcore_entry(1, 0) == 0);
    CHECK(*subcore_entry(2, 1) == 1);
    CHECK(*subcore_entry(4, 2) == 2);
    CHECK(!subcore_entry(2, 0));
    CHECK(*subcore_entry(3, 1) == 1);
    CHECK(*subcore_entry(7, 0) == 2);
    CHECK(*subcore_entry(7, 2) == 4);
    for (int core = 0; core < 3; ++core) CHECK(*subcore_entry(0, core) == core);  // auto: the picked core's entry
    for (uint32_t mask : {0u, 1u, 2u, 4u}) {
        CAPTURE(mask);
        uapi::rknpu::Submit submit{};
        submit.core_mask = mask;
        fill_subcore_tasks(submit, 0, 7);
        for (int core = 0; core < 3; ++core)
            if (const auto entry = subcore_entry(mask, core)) CHECK(submit.subcore_task[*entry].task_number == 7);
    }
    uapi::rknpu::Submit spread{};
    spread.core_mask = 3;
    CHECK_THROWS_AS(fill_subcore_tasks(spread, 0, 7), NpuError);
}

TEST_CASE("NPU plan: CBUF banks counted in 128-byte entries per row, and no task over 100 ms at 200 MHz") {
    // K·bytes = 160: two 128-byte entries a row, where 160 bytes a row would fit 204 rows in a bank.
    CHECK(data_banks_for({204, 160, 32}, MatmulType::Int8) == 2);
    CHECK(data_banks_for({128, 256, 32}, MatmulType::Int8) == 1);
    const TimingModel slowest = worst_case_timing();
    for (const MatmulShape s : {MatmulShape{1020, 8192, 4096}, MatmulShape{2048, 11008, 8192}, MatmulShape{512, 4096, 4096}})
        for (const MatmulType type : {MatmulType::Int8, MatmulType::Fp16})
            for (const MatmulTile& t : plan_matmul(s, type).tiles) {
                CHECK(project_task(t.padded, type, slowest).seconds <= 0.1);
                CHECK(fits_one_task(t.padded, type));
            }
}

TEST_SUITE_END();

}  // namespace test_npu_matmul
