#include "npu/matmul_plan.h"

#include <algorithm>
#include <string>

#include "npu/matmul_task.h"
#include "npu/regcmd.h"
#include "npu/simulator.h"

namespace rockllm::npu {

namespace {

constexpr int64_t kMaxBlockK = 8192;
constexpr int64_t kMaxBlockN = 4096;
constexpr int64_t kMaxBlockM = 1020;  // CNA feature_grains (M + 1) is a 10-bit field
// Far beyond any model's matmul (the largest vocabularies are ~260k, contexts ~128k tokens), and
// small enough that the padding arithmetic cannot overflow and a plan's tile list stays bounded
// (the fuzzer found a 2^31-row request asking for gigabytes of tiles).
constexpr int64_t kMaxDimension = int64_t{1} << 22;
constexpr int64_t kMaxTiles = int64_t{1} << 16;
constexpr double kMaxTaskSeconds = 0.1;

}  // namespace

MatmulPlan plan_matmul(MatmulShape s, MatmulType type) {
    if (s.m <= 0 || s.k <= 0 || s.n <= 0) throw NpuError("matmul sizes must be positive");
    if (s.m > kMaxDimension || s.k > kMaxDimension || s.n > kMaxDimension)
        throw NpuError("matmul sizes above " + std::to_string(kMaxDimension) + " are not planned");
    const MatmulShape padded = padded_shape(s, type);
    const int64_t bpe = static_cast<int64_t>(input_bytes(type));
    MatmulPlan plan{s, type, 0, 0, 0, {}};
    plan.block_k = std::min(padded.k, kMaxBlockK);
    plan.block_n = std::min(padded.n, kMaxBlockN);
    const int64_t rows_in_banks = (cna::kCbufBanks - 1) * cna::kCbufBankEntries / cna::cbuf_entries_per_row(plan.block_k * bpe) / 4 * 4;
    plan.block_m = std::min({round_up(s.m, 4), rows_in_banks, kMaxBlockM});
    // A task stays well inside a job's time limit at the slowest clock (Rocket: 500 ms a job).
    const TimingModel slowest = worst_case_timing();
    while (plan.block_m > 4 &&
           project_task(padded_shape({plan.block_m, plan.block_k, plan.block_n}, type), type, slowest).seconds > kMaxTaskSeconds)
        plan.block_m = std::max<int64_t>(4, plan.block_m / 2 / 4 * 4);
    const int64_t tiles = (s.m + plan.block_m - 1) / plan.block_m * ((s.n + plan.block_n - 1) / plan.block_n) *
                          ((s.k + plan.block_k - 1) / plan.block_k);
    if (tiles > kMaxTiles) throw NpuError("a matmul of " + std::to_string(tiles) + " tiles is more than the NPU path plans");
    for (int64_t m0 = 0; m0 < s.m; m0 += plan.block_m)
        for (int64_t n0 = 0; n0 < s.n; n0 += plan.block_n)
            for (int64_t k0 = 0; k0 < s.k; k0 += plan.block_k) {
                MatmulTile t;
                t.m0 = m0;
                t.n0 = n0;
                t.k0 = k0;
                t.shape = {std::min(plan.block_m, s.m - m0), std::min(plan.block_k, s.k - k0), std::min(plan.block_n, s.n - n0)};
                t.padded = padded_shape(t.shape, type);
                if (!fits_one_task(t.padded, type)) throw NpuError("internal: a planned tile does not fit one task");
                plan.tiles.push_back(t);
            }
    return plan;
}

}  // namespace rockllm::npu
