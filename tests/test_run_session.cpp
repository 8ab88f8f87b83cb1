// `rockllm run` as `ollama run`: the interactive session's commands driven through a
// pseudo-terminal (as a person types them), the one-shot flags, embedding models, and a client
// that keeps bounded memory against a server sending an endless line.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <thread>

#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include "llm/gguf.h"
#include "llm/gguf_writer.h"
#include "models/sha256.h"
#include "serve_fixture.h"

namespace test_run_session {

using nlohmann::json;
using rockllm::test::Daemon;
using rockllm::test::post;

namespace {

struct Session {
    int status = -1;
    std::string output;  // stdout and stderr, as the terminal showed them (input echoed, \r\n line ends)
};

// Runs `rockllm ARGS` in a pseudo-terminal with OLLAMA_HOST set, types the lines, and reads until
// the program exits (60 s at most).
Session run_in_terminal(int port, const std::vector<std::string>& args, const std::vector<std::string>& lines) {
    int master = -1;
    const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
    REQUIRE(pid >= 0);
    if (pid == 0) {
        setenv("OLLAMA_HOST", ("127.0.0.1:" + std::to_string(port)).c_str(), 1);
        std::vector<char*> argv{const_cast<char*>(ROCKLLM_BINARY)};
        for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(ROCKLLM_BINARY, argv.data());
        _exit(127);
    }
    Session s;
    size_t next_line = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
        // A line goes once the program waits for one (its prompt is the last thing it printed).
        const bool waiting = s.output.size() >= 4 && s.output.compare(s.output.size() - 4, 4, ">>> ") == 0;
        if (waiting && next_line < lines.size()) {
            const std::string line = lines[next_line++] + "\n";
            REQUIRE(write(master, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
        }
        pollfd p{master, POLLIN, 0};
        if (poll(&p, 1, 200) > 0) {
            char buffer[4096];
            const ssize_t n = read(master, buffer, sizeof buffer);
            if (n <= 0) break;  // EIO: the program has exited
            s.output.append(buffer, static_cast<size_t>(n));
        }
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid, SIGKILL);
            FAIL("the session did not end; it printed:\n" << s.output);
        }
    }
    close(master);
    int status = 0;
    waitpid(pid, &status, 0);
    s.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return s;
}

bool has(const Session& s, const std::string& text) { return s.output.find(text) != std::string::npos; }

}  // namespace

TEST_SUITE_BEGIN("serve");

TEST_CASE("run: the interactive session's commands, typed into a terminal") {
    Daemon daemon({}, /*with_stories=*/false);
    httplib::Client c = daemon.client();
    const auto reference = json::parse(rockllm::test::read_text(rockllm::test::testdata("models/stories260K.greedy.json")));
    const json& once = reference.at("cases").at(1);
    const std::string continuation = once.at("text").get<std::string>().substr(std::string("Once upon a time").size());
    rockllm::test::create_stories(c, "teller", {{"template", "{{ .System }}{{ range .Messages }}{{ .Content }}{{ end }}"},
                                                {"system", "Once upon"},
                                                {"parameters", {{"temperature", 0}, {"num_predict", once.at("n_generated")}}}});

    const Session s = run_in_terminal(daemon.port(), {"run", "teller"},
                                      {"/set verbose", " a time", "/foo", "/set parameter num_predict 3", "/set parameter top_k many",
                                       "/show parameters", "/show template", "/set format yaml", "/? set", "/save saved",
                                       "/load nowhere", "/list", "/clear", "/bye"});
    CAPTURE(s.output);
    CHECK(s.status == 0);
    CHECK(has(s, "Send a message (/? for help)"));
    CHECK(has(s, "Set 'verbose' mode."));
    // The answer as the reference continues, then Ollama's timing summary.
    std::string answer = continuation;
    for (size_t at = 0; (at = answer.find('\n', at)) != std::string::npos; at += 2) answer.replace(at, 1, "\r\n");
    CHECK(has(s, answer));
    for (const char* expected : {"eval duration:", "prompt eval rate:", "Unknown command '/foo'. Type /? for help",
                                 "Set parameter 'num_predict' to '3'", "Couldn't set parameter", "User defined parameters:",
                                 "{{ .System }}{{ range .Messages }}{{ .Content }}{{ end }}",
                                 "Invalid or missing format. For 'json' mode use '/set format json'", "/set parameter ...     Set a parameter",
                                 "Created new model 'saved'", "Couldn't find model 'nowhere'", "teller:latest", "Cleared session context"}) {
        CAPTURE(expected);
        CHECK(has(s, expected));
    }

    // /save kept the conversation and the session's parameters in the new model.
    const json saved = post(c, "/api/show", R"({"model":"saved"})", 200);
    REQUIRE(saved.at("messages").size() == 2);
    CHECK(saved["messages"][0] == json{{"role", "user"}, {"content", " a time"}});
    CHECK(saved["messages"][1].at("content") == continuation);
    CHECK(saved.at("parameters").get<std::string>().find("num_predict                    3") != std::string::npos);
}

TEST_CASE("run: one-shot flags, thinking shown or hidden, and embedding models") {
    Daemon daemon({}, /*with_stories=*/false);
    httplib::Client c = daemon.client();
    // A template whose thinking tags are "," and ".": the story's first sentence is the reasoning.
    rockllm::test::create_stories(c, "thinker", {{"template", "{{- range .Messages }}{{ .Content }}{{ if .Thinking }},{{ .Thinking }}.{{ end }}{{ end }}"},
                                                 {"parameters", {{"temperature", 0}, {"num_predict", 30}}}});
    rockllm::test::ScratchDir dir;
    const auto cli = [&](const std::string& args) {
        const std::string command = "OLLAMA_HOST=127.0.0.1:" + std::to_string(daemon.port()) + " " + ROCKLLM_BINARY + " " + args +
                                    " </dev/null >" + dir.file("out") + " 2>" + dir.file("err");
        const int status = std::system(command.c_str());
        return std::make_tuple(WEXITSTATUS(status), rockllm::test::read_text(dir.file("out")), rockllm::test::read_text(dir.file("err")));
    };
    auto [status, out, err] = cli("run thinker \"Once upon a time\"");
    CHECK_MESSAGE(status == 0, err);
    CHECK(out.rfind("Thinking...\n there was a little girl named Lily\n...done thinking.\n\n", 0) == 0);
    std::tie(status, out, err) = cli("run thinker --hidethinking \"Once upon a time\"");
    CHECK(out.find("Thinking...") == std::string::npos);
    CHECK(out.rfind("She loved", 0) == 0);
    std::tie(status, out, err) = cli("run thinker --think=false \"Once upon a time\"");
    CHECK(out.rfind(", there was a little girl", 0) == 0);
    std::tie(status, out, err) = cli("run thinker --think=sometimes x");
    CHECK(status == 2);
    CHECK(err.find("invalid value for --think") != std::string::npos);
    std::tie(status, out, err) = cli("run thinker --format json --verbose \"Once upon a time\"");
    CHECK_MESSAGE(status == 0, err);
    CHECK_FALSE(json::parse(out, nullptr, false).is_discarded());  // the answer is JSON
    CHECK(err.find("total duration:") != std::string::npos);

    // An embedding model (stories260K with a pooling type, as embedding GGUFs carry) prints its
    // vector as JSON; --dimensions cuts it to a unit vector of that many values.
    const rockllm::gguf::File stories = rockllm::gguf::File::open(rockllm::test::testdata("models/stories260K.gguf"));
    rockllm::gguf::Writer embedding;
    for (const auto& [key, value] : stories.metadata().entries()) embedding.set(key, value);
    embedding.set("llama.pooling_type", uint32_t{1});  // mean
    for (const rockllm::gguf::TensorInfo& t : stories.tensors())
        embedding.add_tensor(t.name, t.type, t.shape, std::vector<uint8_t>(t.data, t.data + t.size_bytes));
    const std::vector<uint8_t> bytes = embedding.to_bytes();
    const std::string blob(bytes.begin(), bytes.end());
    const std::string digest = "sha256:" + rockllm::sha256_hex(blob);
    REQUIRE(c.Post(("/api/blobs/" + digest).c_str(), blob, "application/octet-stream")->status == 201);
    post(c, "/api/create", json{{"model", "embedder"}, {"files", {{"embedder.gguf", digest}}}, {"stream", false}}.dump(), 200);
    std::tie(status, out, err) = cli("run embedder \"Once upon a time\"");
    CHECK_MESSAGE(status == 0, err);
    const json vector = json::parse(out);
    CHECK(vector == post(c, "/api/embed", R"({"model":"embedder","input":"Once upon a time"})", 200).at("embeddings")[0]);
    CHECK(vector.size() == 64);
    std::tie(status, out, err) = cli("run embedder --dimensions 8 \"Once upon a time\"");
    const json cut = json::parse(out);
    REQUIRE(cut.size() == 8);
    double norm = 0;
    for (const json& v : cut) norm += v.get<double>() * v.get<double>();
    CHECK(norm == doctest::Approx(1.0).epsilon(1e-4));
    std::tie(status, out, err) = cli("run embedder");
    CHECK(status == 2);
    CHECK(err.find("embedding models require input text") != std::string::npos);
}

TEST_CASE("run: a server that sends an endless line costs the client bounded memory and a clear error") {
    httplib::Server fake;
    fake.Post("/api/show", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(R"({"capabilities":["completion"]})", "application/json");
    });
    std::atomic<bool> stop{false};
    fake.Post("/api/chat", [&](const httplib::Request&, httplib::Response& res) {
        res.set_chunked_content_provider("application/x-ndjson", [&](size_t, httplib::DataSink& sink) {
            const std::string chunk(1 << 20, 'a');  // never a newline
            return !stop && sink.write(chunk.data(), chunk.size());
        });
    });
    const int port = fake.bind_to_any_port("127.0.0.1");
    std::thread server([&] { fake.listen_after_bind(); });
    rockllm::test::ScratchDir dir;
    // 1 GB of address space is far more than the client needs and far less than the line. The
    // sanitizers reserve terabytes of address space for their shadow memory, so their builds run
    // without the limit (the error must still come, and before the line has grown past 64 MiB).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    const std::string limit;
#else
    const std::string limit = "ulimit -v 1000000; ";
#endif
    const std::string command = limit + "OLLAMA_HOST=127.0.0.1:" + std::to_string(port) + " " + ROCKLLM_BINARY +
                                " run fake hello </dev/null >/dev/null 2>" + dir.file("err");
    const int status = std::system(("sh -c '" + command + "'").c_str());
    stop = true;
    fake.stop();
    server.join();
    const std::string err = rockllm::test::read_text(dir.file("err"));
    CHECK(WEXITSTATUS(status) == 1);
    CHECK(err.find("longer than 64 MiB") != std::string::npos);
}

TEST_SUITE_END();

}  // namespace test_run_session
