// The client commands of the binary against a running daemon: create from a Modelfile (uploading
// the GGUF), list, run (one-shot, from arguments and from stdin), ps, show, cp, rm, stop, and
// the message when no server is running.
#include <doctest/doctest.h>

#include <fstream>
#include <sys/wait.h>

#include "serve_fixture.h"

namespace test_client_commands {

using nlohmann::json;
using rockllm::test::Daemon;

namespace {

struct Output {
    int status;
    std::string out, err;
};

Output cli(const Daemon& daemon, const std::string& args, const std::string& input = "") {
    rockllm::test::ScratchDir dir;
    std::ofstream(dir.file("in")) << input;
    const std::string command = "OLLAMA_HOST=127.0.0.1:" + std::to_string(daemon.port()) + " " + ROCKLLM_BINARY + " " + args +
                                " <" + dir.file("in") + " >" + dir.file("out") + " 2>" + dir.file("err");
    const int status = std::system(command.c_str());
    return {WEXITSTATUS(status), rockllm::test::read_text(dir.file("out")), rockllm::test::read_text(dir.file("err"))};
}

}  // namespace

TEST_SUITE_BEGIN("serve");

TEST_CASE("client commands: create, list, run, ps, show, cp, rm, stop") {
    Daemon daemon({}, /*with_stories=*/false);
    rockllm::test::ScratchDir dir;
    const auto reference = json::parse(rockllm::test::read_text(rockllm::test::testdata("models/stories260K.greedy.json")));
    const json& once = reference.at("cases").at(1);
    const std::string continuation = once.at("text").get<std::string>().substr(std::string("Once upon a time").size());
    const int n = once.at("n_generated").get<int>();

    // A Modelfile next to a copy of the GGUF, named relative to it.
    std::ofstream(dir.file("stories.gguf"), std::ios::binary) << rockllm::test::read_text(rockllm::test::testdata("models/stories260K.gguf"));
    std::ofstream(dir.file("Modelfile")) << "# deterministic storyteller\nFROM ./stories.gguf\nPARAMETER temperature 0\nPARAMETER num_predict "
                                         << n << "\nSYSTEM Once upon\nTEMPLATE \"\"\"{{ .System }}{{ .Prompt }}\"\"\"\nLICENSE MIT\n";
    Output o = cli(daemon, "create teller -f " + dir.file("Modelfile"));
    CHECK_MESSAGE(o.status == 0, o.err);
    CHECK(o.err.find("success") != std::string::npos);

    o = cli(daemon, "list");
    CHECK(o.status == 0);
    CHECK(o.out.rfind("NAME", 0) == 0);
    CHECK(o.out.find("teller:latest") != std::string::npos);
    CHECK(o.out.find("1.2 MB") != std::string::npos);

    // One-shot runs: the prompt from the arguments, then from stdin.
    o = cli(daemon, "run teller \" a time\"");
    CHECK_MESSAGE(o.status == 0, o.err);
    CHECK(o.out == continuation + "\n");
    o = cli(daemon, "run teller", " a time");
    CHECK(o.out == continuation + "\n");

    o = cli(daemon, "ps");
    CHECK(o.out.find("teller:latest") != std::string::npos);
    CHECK(o.out.find("100% CPU") != std::string::npos);
    CHECK(cli(daemon, "stop teller").status == 0);
    CHECK(cli(daemon, "ps").out.find("teller") == std::string::npos);

    o = cli(daemon, "show teller");
    CHECK(o.out.find("architecture        llama") != std::string::npos);
    CHECK(o.out.find("context length      2048") != std::string::npos);
    CHECK(o.out.find("MIT") != std::string::npos);
    CHECK(cli(daemon, "show teller --system").out == "Once upon\n");
    CHECK(cli(daemon, "show teller --parameters").out.find("temperature                    0\n") != std::string::npos);
    CHECK(cli(daemon, "show teller --modelfile").out.find("TEMPLATE \"\"\"{{ .System }}{{ .Prompt }}\"\"\"") != std::string::npos);

    CHECK(cli(daemon, "cp teller copy").out == "copied 'teller' to 'copy'\n");
    CHECK(cli(daemon, "list").out.find("copy:latest") != std::string::npos);
    CHECK(cli(daemon, "rm copy").out == "deleted 'copy'\n");
    o = cli(daemon, "rm copy");
    CHECK(o.status == 1);
    CHECK(o.err == "Error: model 'copy' not found\n");

    // create -q re-quantizes the F32 weights.
    o = cli(daemon, "create small -q q8_0 -f " + dir.file("Modelfile"));
    CHECK_MESSAGE(o.status == 0, o.err);
    CHECK(o.err.find("quantizing F32 model to Q8_0") != std::string::npos);
    CHECK(cli(daemon, "show small").out.find("Q8_0") != std::string::npos);
    o = cli(daemon, "run small \" a time\"");
    CHECK_MESSAGE(o.status == 0, o.err);
    CHECK(o.out.size() > 20);

    // ADAPTER: a LoRA adapter GGUF beside the Modelfile is uploaded and applied.
    const auto adapter = rockllm::test::make_lora_adapter(rockllm::gguf::File::open(dir.file("stories.gguf")), {{"blk.0.attn_q.weight", 2}}, 4.0f);
    std::ofstream(dir.file("lora.gguf"), std::ios::binary).write(reinterpret_cast<const char*>(adapter.bytes.data()),
                                                                  static_cast<std::streamsize>(adapter.bytes.size()));
    std::ofstream(dir.file("Tuned")) << "FROM ./stories.gguf\nADAPTER ./lora.gguf\nPARAMETER num_predict 8\n";
    o = cli(daemon, "create tuned -f " + dir.file("Tuned"));
    CHECK_MESSAGE(o.status == 0, o.err);
    CHECK(cli(daemon, "show tuned --modelfile").out.find("\nADAPTER ") != std::string::npos);
    CHECK(cli(daemon, "run tuned \" a time\"").status == 0);

    std::ofstream(dir.file("Bad")) << "FROM x\nNONSENSE y\n";
    o = cli(daemon, "create bad -f " + dir.file("Bad"));
    CHECK(o.status == 1);
    CHECK(o.err.find("Modelfile line 2") != std::string::npos);
}

TEST_CASE("client commands: no server running says how to start one") {
    rockllm::test::ScratchDir dir;
    const std::string command = "OLLAMA_HOST=127.0.0.1:" + std::to_string(rockllm::test::free_port()) + " " + ROCKLLM_BINARY +
                                " list 2>" + dir.file("err");
    const int status = std::system(command.c_str());
    CHECK(WEXITSTATUS(status) == 1);
    CHECK(rockllm::test::read_text(dir.file("err")).find("rockllm serve") != std::string::npos);
}

TEST_SUITE_END();

}  // namespace test_client_commands
