// A small program that drives the NPU driver layer directly, for the fault tests: run with the
// simulated device preloaded (LD_PRELOAD=librockllm_fake_npu.so, ROCKLLM_NPU_SIMULATE=rocket|rknpu).
//   npu_driver_probe hang     a task the core cannot run: the wait must time out with an error
//   npu_driver_probe dropped  an output the job never writes: the canary check must notice
//   npu_driver_probe ok       a correct task: must succeed
// Prints "error: <message>" or "ok" and exits 0 either way (the test reads the line).
#include <cstdio>
#include <cstring>
#include <string>

#include "npu/drm_device.h"
#include "npu/matmul_task.h"

using namespace rockllm::npu;

int main(int argc, char** argv) {
    const std::string scenario = argc > 1 ? argv[1] : "ok";
    try {
        const auto node = find_npu_node();
        if (!node) throw NpuError("no NPU node");
        auto device = open_npu_device(*node);
        const MatmulShape shape{4, 32, 32};
        const DeviceBuffer a = device->allocate(feature_bytes(shape, MatmulType::Int8));
        const DeviceBuffer b = device->allocate(weight_bytes(shape, MatmulType::Int8));
        const DeviceBuffer c = device->allocate(output_bytes(shape));
        const DeviceBuffer unrelated = device->allocate(4096);
        std::vector<uint64_t> regcmd = build_matmul_task(shape, MatmulType::Int8, {a.iova, b.iova, c.iova});
        if (scenario == "hang") {
            // Depthwise convolution: not a configuration the core (simulator) runs.
            for (uint64_t& e : regcmd)
                if (decode_entry(e).offset == cna::kConvCon1.offset) e = encode_entry(uint16_t(Block::Cna), 3, cna::kConvCon1.offset);
        }
        const DeviceBuffer commands = device->allocate(regcmd.size() * 8);
        std::memcpy(commands.host, regcmd.data(), regcmd.size() * 8);
        for (const DeviceBuffer& buffer : {a, b, commands}) device->cpu_write_done(buffer);
        device->run({{commands.iova, static_cast<uint32_t>(regcmd.size())}}, {scenario == "dropped" ? unrelated : c});
        std::printf("ok\n");
    } catch (const std::exception& e) {
        std::printf("error: %s\n", e.what());
    }
    return 0;
}
