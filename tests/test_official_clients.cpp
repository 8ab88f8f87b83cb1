// The official npm clients (`ollama`, `openai` and `@anthropic-ai/sdk`, installed by tools/install-npm-clients.sh)
// driving the daemon: tests/clients/official_clients.mjs fails if a client throws or a check fails.
#include <doctest/doctest.h>

#include <filesystem>
#include <sys/wait.h>

#include "local_registry.h"
#include "models/sha256.h"
#include "serve_fixture.h"

namespace test_official_clients {

namespace fs = std::filesystem;

TEST_SUITE_BEGIN("clients");

TEST_CASE("official clients: ollama-js, openai-node and the Anthropic SDK against rockllm serve") {
    const fs::path clients = ROCKLLM_NPM_CLIENTS_DIR;
    if (!fs::exists(clients / "node_modules/ollama") || !fs::exists(clients / "node_modules/openai") ||
        !fs::exists(clients / "node_modules/@anthropic-ai/sdk") || !fs::exists(clients / "node_modules/zod"))
        FAIL("the npm clients are missing: run tools/install-npm-clients.sh " << clients.string());

    // A registry serving stories260K, for the clients' pull.
    rockllm::test::LocalRegistry registry;
    const std::string gguf_path = rockllm::test::testdata("models/stories260K.gguf");
    const std::string gguf = rockllm::test::read_text(gguf_path);
    const std::string config = R"({"model_format":"gguf","model_family":"llama"})";
    registry.add_blob("sha256:" + rockllm::sha256_hex(gguf), gguf);
    registry.add_blob("sha256:" + rockllm::sha256_hex(config), config);
    registry.add_manifest("library/stories:latest",
                          rockllm::test::make_manifest("sha256:" + rockllm::sha256_hex(config), config.size(),
                                                       {{"application/vnd.ollama.image.model", "sha256:" + rockllm::sha256_hex(gguf), gguf.size()}}));

    rockllm::test::Daemon daemon({}, /*with_stories=*/false);
    rockllm::test::ScratchDir dir;
    const std::string command = "cd " + clients.string() + " && ROCKLLM_URL=http://127.0.0.1:" + std::to_string(daemon.port()) +
                                " REGISTRY_MODEL=127.0.0.1:" + std::to_string(registry.port()) + "/library/stories" +
                                " GGUF_PATH=" + gguf_path + " LLAMA3_TEMPLATE=" + std::string(ROCKLLM_SOURCE_DIR) + "/tests/data/chat_templates/llama3.gotmpl" +
                                " REFERENCE_JSON=" + rockllm::test::testdata("models/stories260K.greedy.json") +
                                " node official_clients.mjs >" + dir.file("out") + " 2>&1";
    const int status = std::system(command.c_str());
    const std::string output = rockllm::test::read_text(dir.file("out"));
    CHECK_MESSAGE(WEXITSTATUS(status) == 0, output << "\n--- serve log ---\n" << daemon.log());
    CHECK(output.find("checks passed") != std::string::npos);
}

TEST_SUITE_END();

}  // namespace test_official_clients
