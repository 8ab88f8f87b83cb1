// The NPU through the real driver path: `rockllm npu info|selftest` with ROCKLLM_NPU_SIMULATE
// preloads the simulated device node, so the production driver code (device discovery, our UAPI
// structs, buffer objects, mmap, submit, wait) runs against the register-level simulator, for
// both the Rocket and the rknpu driver.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace test_npu_driver {

namespace {

struct Output {
    int status;
    std::string out, err;
};

Output run_rockllm(const std::string& env, const std::string& args) {
    rockllm::test::ScratchDir dir;
    const std::string command = env + " " + ROCKLLM_BINARY + " " + args + " >" + dir.file("out") + " 2>" + dir.file("err");
    const int status = std::system(command.c_str());
    return {WEXITSTATUS(status), rockllm::test::read_text(dir.file("out")), rockllm::test::read_text(dir.file("err"))};
}

}  // namespace

TEST_SUITE_BEGIN("npu");

TEST_CASE("NPU driver path: npu info and selftest on the simulated Rocket and rknpu devices") {
    for (const std::string driver : {"rocket", "rknpu"}) {
        CAPTURE(driver);
        const Output info = run_rockllm("ROCKLLM_NPU_SIMULATE=" + driver, "npu info");
        CHECK(info.status == 0);
        CHECK(info.out.find("driver    " + driver) != std::string::npos);
        CHECK(info.out.find(driver == "rocket" ? "/dev/accel/accel0" : "/dev/dri/renderD129") != std::string::npos);
        CHECK(info.err.find("NPU simulated") != std::string::npos);  // the log says it is not hardware

        const Output selftest = run_rockllm("ROCKLLM_NPU_SIMULATE=" + driver, "npu selftest");
        CHECK_MESSAGE(selftest.status == 0, selftest.out << selftest.err);
        CHECK(selftest.out.find("all shapes pass") != std::string::npos);
        CHECK(selftest.out.find("int8      129   9000     40  0 ") != std::string::npos);  // K split, exact
        // Each core (rknpu: by core mask) or three fds at once (Rocket: the kernel places them).
        for (const std::string& where : driver == "rknpu" ? std::vector<std::string>{"0 ", "1 ", "2 "} : std::vector<std::string>{"fd1", "fd2", "fd3"})
            CHECK(selftest.out.find("\n" + where + std::string(7 - where.size(), ' ') + "int8   ") != std::string::npos);
        CHECK(selftest.out.find("FAIL") == std::string::npos);
    }
}

TEST_CASE("NPU driver path: selftest --report writes what a bug report needs, and a trace of the submits decodes as named registers") {
    rockllm::test::ScratchDir dir;
    const Output selftest = run_rockllm("ROCKLLM_NPU_SIMULATE=rknpu ROCKLLM_NPU_TRACE=" + dir.file("trace"),
                                        "npu selftest --report " + dir.file("report.json"));
    REQUIRE_MESSAGE(selftest.status == 0, selftest.err);
    const nlohmann::json report = nlohmann::json::parse(rockllm::test::read_text(dir.file("report.json")));
    CHECK(report["driver"] == "rknpu");
    CHECK(report["driver_version"] == "0.9.8");
    CHECK(report["simulated"] == "rknpu");
    CHECK(report["kernel"].get<std::string>().rfind("Linux ", 0) == 0);
    CHECK(report["failures"] == 0);
    CHECK(report["shapes"].size() == 36);  // 6 shapes × 2 types × 3 cores
    CHECK(report["shapes"][0].contains("device_us"));

    const Output decoded = run_rockllm("", "npu decode " + dir.file("trace"));
    CHECK(decoded.status == 0);
    CHECK(decoded.out.find("job rknpu core_mask 4 tasks") != std::string::npos);  // core 2's jobs
    CHECK(decoded.out.find("CNA.FEATURE_DATA_ADDR") != std::string::npos);
    CHECK(decoded.out.find("next list at this address") != std::string::npos);  // a chained job (the K split)
    CHECK(decoded.out.find("op-enable 0x0d: CNA CORE DPU") != std::string::npos);
    const Output garbage = run_rockllm("", "npu decode " + dir.file("report.json"));
    CHECK(garbage.status == 1);
    CHECK(garbage.err.find("Error: ") != std::string::npos);
}

TEST_CASE("NPU driver path: no device, and a bad ROCKLLM_NPU_SIMULATE, are clear errors") {
    const Output none = run_rockllm("env -u ROCKLLM_NPU_SIMULATE", "npu info");
    CHECK(none.status == 1);
    CHECK(none.err.find("no NPU found") != std::string::npos);
    const Output bad = run_rockllm("ROCKLLM_NPU_SIMULATE=gpu", "npu info");
    CHECK(bad.status == 2);
    CHECK(bad.err.find("must be \"rocket\" or \"rknpu\"") != std::string::npos);
}

TEST_CASE("NPU driver path: a grid of shapes through both drivers, a job that hangs the core and one that never writes its output are errors") {
    const std::string preload = std::string("LD_PRELOAD=") + ROCKLLM_FAKE_NPU_LIBRARY + " ASAN_OPTIONS=verify_asan_link_order=0 ";
    for (const std::string driver : {"rocket", "rknpu"}) {
        CAPTURE(driver);
        auto probe = [&](const std::string& scenario) {
            rockllm::test::ScratchDir dir;
            const std::string command = preload + "ROCKLLM_NPU_SIMULATE=" + driver + " " + ROCKLLM_NPU_PROBE + " " + scenario + " >" +
                                        dir.file("out") + " 2>/dev/null";
            std::system(command.c_str());
            return rockllm::test::read_text(dir.file("out"));
        };
        CHECK(probe("ok") == "ok\n");
        // The grid of shapes through the driver, both types (sampled against the CPU).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
        CHECK(probe("grid") == "ok: 88 shapes\n");  // without the three largest shapes of each type
#else
        CHECK(probe("grid") == "ok: 94 shapes\n");
#endif
        CHECK(probe("hang").find("timed out") != std::string::npos);
        const std::string dropped = probe("dropped");
        CHECK(dropped.rfind("error: ", 0) == 0);
        CHECK((dropped.find("did not run") != std::string::npos || dropped.find("did not write") != std::string::npos));
    }
}

TEST_CASE("NPU driver path: the simulated drivers refuse what the real ones would not run, one case per rule") {
    const std::string preload = std::string("LD_PRELOAD=") + ROCKLLM_FAKE_NPU_LIBRARY + " ASAN_OPTIONS=verify_asan_link_order=0 ";
    auto probe = [&](const std::string& driver, const std::string& scenario) {
        rockllm::test::ScratchDir dir;
        const std::string command = preload + "ROCKLLM_NPU_SIMULATE=" + driver + " " + ROCKLLM_NPU_PROBE + " " + scenario + " >" +
                                    dir.file("out") + " 2>/dev/null";
        std::system(command.c_str());
        return rockllm::test::read_text(dir.file("out"));
    };
    // rknpu (rknpu_job.c): the task range of each core comes from its subcore_task entry; PC mode
    // reaches later tasks only through the tails; the interrupt must equal the last int_mask.
    const std::string rules = probe("rknpu", "rules");
    for (const std::string line : {"chained on core 0: ok", "chained on core 1: ok", "chained on core 2: ok", "auto core, entries 0-2: ok",
                                   "auto core, entry 0 only: ETIMEDOUT", "core 1, entry 0 only: ETIMEDOUT", "three cores, entries 2-4: ok",
                                   "three cores, entries 0-2: ETIMEDOUT", "core mask 5: EINVAL", "core mask 8: EINVAL", "no tasks: EINVAL",
                                   "tails not chained: ETIMEDOUT", "int_mask of the CNA: ETIMEDOUT",
                                   "DPU_RDMA enabled without its registers: ETIMEDOUT"})
        CHECK_MESSAGE(rules.find(std::string(line) + "\n") != std::string::npos, line, "\n", rules);
    // Rocket: a job past 500 ms at mainline's 200 MHz times out; the driver layer splits it.
    const std::string rocket = probe("rocket", "rocket-limit");
    CHECK(rocket.find("one job of twelve: ETIMEDOUT\n") != std::string::npos);
    CHECK(rocket.find("through the driver layer: ok\n") != std::string::npos);
}

TEST_SUITE_END();

}  // namespace test_npu_driver
