// The fuzz targets: each takes arbitrary bytes and drives one parser of untrusted input the way the
// daemon does, treating the parser's documented errors (exceptions derived from std::exception) as
// the expected outcome for bad input. Anything else — a crash, a sanitizer report, a hang, an
// allocation beyond libFuzzer's limit — is a finding.
//
// The same functions are linked into libFuzzer executables (tests/fuzz/fuzz_main.cpp, built with
// ROCKLLM_FUZZ=ON) and into the unit tests, which replay the kept inputs (tests/fuzz/regressions)
// and the seed corpus built from the test data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rockllm::fuzz {

struct Target {
    const char* name;
    int (*run)(const uint8_t* data, size_t size);
};

// Every target, by name.
const std::vector<Target>& targets();
const Target* find_target(const std::string& name);

}  // namespace rockllm::fuzz
