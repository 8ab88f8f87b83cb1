// The store through the API: blob upload, create, show, tags, copy, delete; embeddings.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "llm/bert_encoder.h"
#include "llm/synthetic_model.h"
#include "models/sha256.h"
#include "serve_fixture.h"
#include "tokenizer/tokenizer.h"

namespace test_serve_models {

using nlohmann::json;
using rockllm::test::Daemon;
using rockllm::test::post;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> blob_files(const fs::path& store) {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(store / "blobs")) out.push_back(entry.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

json tags(httplib::Client& c) {
    auto r = c.Get("/api/tags");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return json::parse(r->body).at("models");
}

}  // namespace

TEST_SUITE_BEGIN("serve");

TEST_CASE("serve: blobs upload with digest checks, create, show, copy and delete models") {
    Daemon daemon({}, /*with_stories=*/false);
    httplib::Client c = daemon.client();
    CHECK(tags(c).empty());

    const std::string gguf = rockllm::test::read_text(rockllm::test::testdata("models/stories260K.gguf"));
    const std::string digest = "sha256:" + rockllm::sha256_hex(gguf);
    const std::string wrong = "sha256:" + std::string(64, '0');

    // Blobs: HEAD before and after, a wrong digest refused and not kept, malformed digests refused.
    CHECK(c.Head(("/api/blobs/" + digest).c_str())->status == 404);
    auto mismatch = c.Post(("/api/blobs/" + wrong).c_str(), gguf, "application/octet-stream");
    REQUIRE(mismatch);
    CHECK(mismatch->status == 400);
    CHECK(json::parse(mismatch->body).at("error") == "digest mismatch, expected \"" + wrong + "\", got \"" + digest + "\"");
    CHECK(c.Head(("/api/blobs/" + wrong).c_str())->status == 404);
    CHECK(blob_files(daemon.store()).empty());  // not even a temporary file stays behind
    for (const std::string& bad : std::vector<std::string>{"sha256:abc", "sha256:..%2f..%2fetc", "md5:" + std::string(64, 'a'), "sha256-" + std::string(63, 'a') + "g"}) {
        auto r = c.Post(("/api/blobs/" + bad).c_str(), "x", "application/octet-stream");
        REQUIRE(r);
        CHECK_MESSAGE(r->status == 400, bad);
    }
    auto upload = c.Post(("/api/blobs/" + digest).c_str(), gguf, "application/octet-stream");
    REQUIRE(upload);
    CHECK(upload->status == 201);
    CHECK(c.Head(("/api/blobs/" + digest).c_str())->status == 200);
    CHECK(c.Post(("/api/blobs/" + digest).c_str(), gguf, "application/octet-stream")->status == 200);  // already there
    CHECK(rockllm::sha256_file_hex((daemon.store() / "blobs" / ("sha256-" + digest.substr(7))).string()) == digest.substr(7));

    // Create errors.
    CHECK(post(c, "/api/create", R"({"model":"../x","files":{"a.gguf":")" + digest + R"("}})", 400).at("error") == "invalid model name");
    CHECK(post(c, "/api/create", R"({"model":"x","files":{"a.gguf":"sha256:12"}})", 400).at("error") == "invalid digest format");
    CHECK(post(c, "/api/create", R"({"model":"x","files":{"a.gguf":")" + wrong + R"("}})", 400).contains("error"));
    CHECK(post(c, "/api/create", R"({"model":"x"})", 400).at("error") == "neither 'from' or 'files' was specified");
    // A base that is not stored is pulled (127.0.0.1:1 refuses at once, wherever the tests run).
    CHECK(post(c, "/api/create", R"({"model":"x","from":"127.0.0.1:1/library/missing"})", 404)
              .at("error").get<std::string>().rfind("model '127.0.0.1:1/library/missing' not found, and pulling it failed", 0) == 0);
    // File names are relative paths (Go's fs.ValidPath, as Ollama checks them); templates parse at create time.
    for (const char* file : {"../a.gguf", "/tmp/a.gguf", "a/../../b.gguf", "a//b.gguf", "./a.gguf"}) {
        CAPTURE(file);
        CHECK(post(c, "/api/create", json{{"model", "x"}, {"files", {{file, digest}}}}.dump(), 400).at("error") == "file path must be relative");
    }
    CHECK(post(c, "/api/create", json{{"model", "x"}, {"files", {{"a.gguf", digest}}}, {"draft_files", {{"d.gguf", digest}}}}.dump(), 400)
              .at("error") == "DRAFT is not supported: rockllm has no speculative decoding");
    CHECK(post(c, "/api/create", json{{"model", "x"}, {"files", {{"a.gguf", digest}}}, {"template", "{{ .Prompt"}}.dump(), 400)
              .at("error").get<std::string>().rfind("template error: ", 0) == 0);
    const std::string config_text = R"({"not":"a gguf"})";
    const std::string config_digest = "sha256:" + rockllm::sha256_hex(config_text);
    REQUIRE(c.Post(("/api/blobs/" + config_digest).c_str(), config_text, "application/octet-stream")->status == 201);
    CHECK(post(c, "/api/create", R"({"model":"x","files":{"a.gguf":")" + config_digest + R"("}})", 400)
              .at("error").get<std::string>().find("not a valid GGUF") != std::string::npos);
    CHECK(tags(c).empty());

    // Create from the uploaded GGUF, streamed: Ollama's status lines in order.
    const json request = {{"model", "stories"},
                          {"files", {{"stories260K.gguf", digest}}},
                          {"system", "You tell stories."},
                          {"parameters", {{"temperature", 0.5}, {"stop", {"The end"}}}},
                          {"license", "MIT"},
                          {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
    auto created = c.Post("/api/create", request.dump(), "application/json");
    REQUIRE(created);
    CHECK(created->status == 200);
    const std::vector<json> lines = rockllm::test::ndjson_lines(created->body);
    REQUIRE(lines.size() >= 4);
    CHECK(lines.front().at("status") == "parsing GGUF");
    CHECK(lines[1].at("status") == "using existing layer " + digest);
    CHECK(lines[lines.size() - 2].at("status") == "writing manifest");
    CHECK(lines.back().at("status") == "success");

    json models = tags(c);
    REQUIRE(models.size() == 1);
    CHECK(models[0].at("name") == "stories:latest");
    CHECK(models[0].at("model") == "stories:latest");
    const fs::path manifest = daemon.store() / "manifests/registry.ollama.ai/library/stories/latest";
    CHECK(models[0].at("digest") == rockllm::sha256_hex(rockllm::test::read_text(manifest.string())));
    CHECK(models[0].at("details").at("family") == "llama");
    CHECK(models[0].at("details").at("format") == "gguf");
    CHECK(models[0].at("details").at("quantization_level") == "F32");
    CHECK(models[0].at("details").at("parameter_size") == "292.80K");  // 292,800 parameters
    CHECK(models[0].at("details").at("context_length") == 2048);  // from the GGUF, as Ollama's list
    CHECK(models[0].at("details").at("embedding_length") == 64);
    CHECK(models[0].at("capabilities") == json::array({"completion"}));
    CHECK(models[0].at("modified_at").get<std::string>().size() >= 20);

    // Show.
    CHECK(post(c, "/api/show", "{}", 400).at("error") == "model is required");
    CHECK(post(c, "/api/show", R"({"model":"nope"})", 404).at("error") == "model 'nope' not found");
    const json shown = post(c, "/api/show", R"({"name":"stories"})", 200);  // legacy "name"
    CHECK(shown.at("system") == "You tell stories.");
    CHECK(shown.at("license") == "MIT");
    CHECK(shown.at("messages") == json::array({{{"role", "user"}, {"content", "hi"}}}));
    CHECK(shown.at("parameters").get<std::string>().find("temperature                    0.5") != std::string::npos);
    CHECK(shown.at("modelfile").get<std::string>().rfind("# Modelfile generated by \"ollama show\"", 0) == 0);
    CHECK(shown.at("modelfile").get<std::string>().find("PARAMETER stop \"The end\"") != std::string::npos);
    CHECK(shown.at("modelfile").get<std::string>().find("\nMESSAGE user hi\n") != std::string::npos);
    CHECK(shown.at("template") == "{{ .Prompt }}");  // no template layer and none in the GGUF: Ollama's default
    CHECK(shown.at("model_info").at("general.architecture") == "llama");
    CHECK(shown.at("model_info").at("llama.context_length") == 2048);
    CHECK(shown.at("model_info").at("llama.embedding_length") == 64);
    CHECK(shown.at("model_info").at("tokenizer.ggml.tokens") == json::array());  // long arrays elided...
    const json verbose = post(c, "/api/show", R"({"model":"stories","verbose":true})", 200);
    CHECK(verbose.at("model_info").at("tokenizer.ggml.tokens").size() == 512);  // ...unless verbose
    CHECK(shown.at("capabilities") == json::array({"completion"}));
    CHECK(shown.at("tensors").size() > 10);

    // The params layer is used: a stop string from it ends generation.
    const json generated = post(c, "/api/generate",
                                R"({"model":"stories","prompt":"Once upon a time","raw":true,"stream":false,"options":{"temperature":0,"num_predict":60}})", 200);
    CHECK(generated.at("response").get<std::string>().find("The end") == std::string::npos);

    // A derived model shares the weights; copy shares everything.
    post(c, "/api/create", R"({"model":"teller:v2","from":"stories","system":"Short stories only.","stream":false})", 200);
    CHECK(post(c, "/api/copy", R"({"source":"stories","destination":"alias"})", 200).is_discarded());
    CHECK(post(c, "/api/copy", R"({"source":"nope","destination":"x"})", 404).at("error") == "model \"nope\" not found");
    CHECK(post(c, "/api/copy", R"({"source":"stories","destination":"a/../b"})", 400).at("error") == "destination \"a/../b\" is invalid");
    models = tags(c);
    REQUIRE(models.size() == 3);
    // Newest first, as Ollama lists them: the copy, the derived model, the first one.
    CHECK(models[0].at("name") == "alias:latest");
    CHECK(models[1].at("name") == "teller:v2");
    CHECK(models[2].at("name") == "stories:latest");
    CHECK(models[0].at("digest") == models[2].at("digest"));  // the same manifest bytes
    CHECK(models[1].at("details").at("parent_model") == "stories:latest");
    CHECK(post(c, "/api/show", R"({"model":"teller:v2"})", 200).at("system") == "Short stories only.");
    // Names differing only in case are one model, as in Ollama: this re-creates teller:v2.
    post(c, "/api/create", R"({"model":"Teller:V2","from":"stories","system":"Shorter.","stream":false})", 200);
    CHECK(tags(c).size() == 3);
    CHECK(post(c, "/api/show", R"({"model":"teller:v2"})", 200).at("system") == "Shorter.");
    CHECK(fs::exists(daemon.store() / "manifests/registry.ollama.ai/library/teller/v2"));
    CHECK_FALSE(fs::exists(daemon.store() / "manifests/registry.ollama.ai/library/Teller"));

    // Delete: shared blobs survive until their last model goes; unknown and invalid names refused.
    auto del = [&](const std::string& body) { return c.Delete("/api/delete", body, "application/json"); };
    CHECK(del(R"({"model":"nope"})")->status == 404);
    CHECK(json::parse(del(R"({"model":"nope"})")->body).at("error") == "model 'nope' not found");
    CHECK(del(R"({"model":"../../etc"})")->status == 400);
    const auto blobs_before = blob_files(daemon.store());
    CHECK(del(R"({"name":"alias"})")->status == 200);  // ollama-js sends "name"
    CHECK(blob_files(daemon.store()) == blobs_before);  // everything still used by "stories"
    CHECK(del(R"({"model":"stories"})")->status == 200);
    CHECK(c.Head(("/api/blobs/" + digest).c_str())->status == 200);  // teller:v2 still uses the weights
    CHECK(post(c, "/api/generate", R"({"model":"teller:v2","prompt":"Once","raw":true,"stream":false,"options":{"num_predict":3}})", 200)
              .at("eval_count") == 3);
    CHECK(del(R"({"model":"teller:v2"})")->status == 200);
    CHECK(tags(c).empty());
    CHECK(c.Head(("/api/blobs/" + digest).c_str())->status == 404);
    // Only the config-test blob, which no manifest referenced, is left; empty directories are gone.
    CHECK(blob_files(daemon.store()) == std::vector<std::string>{"sha256-" + config_digest.substr(7)});
    CHECK(!fs::exists(daemon.store() / "manifests/registry.ollama.ai/library/stories"));

    auto push = c.Post("/api/push", R"({"model":"x"})", "application/json");
    REQUIRE(push);
    CHECK(push->status == 501);
    CHECK(json::parse(push->body).at("error").get<std::string>().find("push") != std::string::npos);
    CHECK(daemon.stop() == 0);
}

TEST_CASE("serve: create with quantize re-quantizes the weights as Ollama's create --quantize") {
    Daemon daemon({}, /*with_stories=*/false);
    httplib::Client c = daemon.client();
    const std::string gguf = rockllm::test::read_text(rockllm::test::testdata("models/stories260K.gguf"));
    const std::string digest = "sha256:" + rockllm::sha256_hex(gguf);
    REQUIRE(c.Post(("/api/blobs/" + digest).c_str(), gguf, "application/octet-stream")->status == 201);
    const json request = {{"model", "small"}, {"files", {{"stories260K.gguf", digest}}}, {"quantize", "q4_K_M"}};
    auto created = c.Post("/api/create", request.dump(), "application/json");
    REQUIRE(created);
    CHECK(created->status == 200);
    std::vector<std::string> statuses;
    for (const json& line : rockllm::test::ndjson_lines(created->body)) statuses.push_back(line.value("status", ""));
    CHECK(std::find(statuses.begin(), statuses.end(), "quantizing F32 model to Q4_K_M") != statuses.end());
    CHECK(statuses.back() == "success");

    const json listed = tags(c);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].at("details").at("quantization_level") == "Q4_K_M");
    CHECK(listed[0].at("size").get<int64_t>() < static_cast<int64_t>(gguf.size()) / 2);  // smaller than the F32 file
    const json shown = post(c, "/api/show", R"({"model":"small"})", 200);
    for (const json& t : shown.at("tensors")) {
        if (t.at("name") == "blk.0.attn_q.weight") CHECK(t.at("type") == "Q5_0");  // 64-wide rows: Q4_K's fallback
        if (t.at("name") == "blk.0.attn_norm.weight") CHECK(t.at("type") == "F32");
    }
    CHECK(post(c, "/api/generate", R"({"model":"small","prompt":"Once upon a time","raw":true,"stream":false,"options":{"temperature":0,"num_predict":8}})", 200)
              .at("eval_count") == 8);

    CHECK(post(c, "/api/create", R"({"model":"again","from":"small","quantize":"q8_0"})", 400).at("error") ==
          "quantization is only supported for F16, BF16 and F32 models");
    CHECK(post(c, "/api/create", json{{"model", "x"}, {"files", {{"a.gguf", digest}}}, {"quantize", "q3_K_L"}}.dump(), 400).at("error") ==
          "unsupported quantization type Q3_K_L - supported types are Q4_K_S, Q4_K_M, Q8_0");
    CHECK(tags(c).size() == 1);
    // No temporary file of the quantizer is left beside the blobs.
    for (const auto& entry : fs::directory_iterator(daemon.store() / "blobs"))
        CHECK(entry.path().filename().string().rfind(".tmp", 0) != 0);
}

TEST_CASE("serve: create with a LoRA adapter applies it when the model loads") {
    Daemon daemon({}, /*with_stories=*/false);
    httplib::Client c = daemon.client();
    const std::string gguf = rockllm::test::read_text(rockllm::test::testdata("models/stories260K.gguf"));
    const rockllm::gguf::File base = rockllm::gguf::File::open(rockllm::test::testdata("models/stories260K.gguf"));
    const auto adapter = rockllm::test::make_lora_adapter(base, {{"blk.1.attn_q.weight", 4}, {"blk.3.ffn_up.weight", 4}}, 32.0f);
    const std::vector<uint8_t> merged = rockllm::test::merged_by_hand(base, adapter, 32.0f);
    const auto upload = [&](const std::string& bytes) {
        const std::string digest = "sha256:" + rockllm::sha256_hex(bytes);
        REQUIRE(c.Post(("/api/blobs/" + digest).c_str(), bytes, "application/octet-stream")->status == 201);
        return digest;
    };
    const std::string base_digest = upload(gguf);
    const std::string adapter_digest = upload(std::string(adapter.bytes.begin(), adapter.bytes.end()));
    const std::string merged_digest = upload(std::string(merged.begin(), merged.end()));
    post(c, "/api/create", json{{"model", "tuned"}, {"files", {{"stories.gguf", base_digest}}}, {"adapters", {{"lora.gguf", adapter_digest}}},
                                {"stream", false}}.dump(), 200);
    post(c, "/api/create", json{{"model", "merged"}, {"files", {{"merged.gguf", merged_digest}}}, {"stream", false}}.dump(), 200);
    post(c, "/api/create", json{{"model", "plain"}, {"files", {{"stories.gguf", base_digest}}}, {"stream", false}}.dump(), 200);

    const auto answer = [&](const std::string& model) {
        return post(c, "/api/generate", json{{"model", model}, {"prompt", "Once upon a time"}, {"raw", true}, {"stream", false},
                                             {"options", {{"temperature", 0}, {"num_predict", 40}}}}.dump(), 200)
            .at("response").get<std::string>();
    };
    const std::string tuned = answer("tuned");
    CHECK(tuned == answer("merged"));  // the adapter merged at load = the weights merged beforehand
    CHECK(tuned != answer("plain"));
    CHECK(post(c, "/api/show", R"({"model":"tuned"})", 200).at("modelfile").get<std::string>().find(
              "\nADAPTER " + (daemon.store() / "blobs" / ("sha256-" + adapter_digest.substr(7))).string() + "\n") != std::string::npos);

    // Refused at create: more than one adapter, a file that is not an adapter, a path outside.
    CHECK(post(c, "/api/create", json{{"model", "x"}, {"files", {{"s.gguf", base_digest}}},
                                      {"adapters", {{"a.gguf", adapter_digest}, {"b.gguf", merged_digest}}}}.dump(), 400)
              .at("error") == "only one adapter is currently supported");
    CHECK(post(c, "/api/create", json{{"model", "x"}, {"files", {{"s.gguf", base_digest}}}, {"adapters", {{"a.gguf", merged_digest}}}}.dump(), 400)
              .at("error") == "\"a.gguf\" is not a LoRA adapter GGUF");
    CHECK(post(c, "/api/create", json{{"model", "x"}, {"files", {{"s.gguf", base_digest}}}, {"adapters", {{"../a.gguf", adapter_digest}}}}.dump(), 400)
              .at("error") == "file path must be relative");
}

TEST_CASE("serve: /api/embed and /api/embeddings") {
    Daemon daemon;
    httplib::Client c = daemon.client();
    const json one = post(c, "/api/embed", R"({"model":"stories","input":"Once upon a time"})", 200);
    REQUIRE(one.at("embeddings").size() == 1);
    const auto& v = one["embeddings"][0];
    CHECK(v.size() == 64);  // stories260K's embedding length
    double norm = 0;
    for (const auto& x : v) norm += x.get<double>() * x.get<double>();
    CHECK(std::sqrt(norm) == doctest::Approx(1.0).epsilon(1e-5));
    CHECK(one.at("prompt_eval_count") == 5);  // BOS + 4 tokens

    const json two = post(c, "/api/embed", R"({"model":"stories","input":["Once upon a time","Lily"]})", 200);
    REQUIRE(two.at("embeddings").size() == 2);
    for (size_t i = 0; i < v.size(); ++i) CHECK(two["embeddings"][0][i].get<double>() == doctest::Approx(v[i].get<double>()).epsilon(1e-5));
    CHECK(two["embeddings"][0] != two["embeddings"][1]);
    // The model was loaded already, and load_duration is still there (the AI SDK requires it).
    CHECK(two.at("load_duration").get<int64_t>() > 0);
    CHECK(two.at("load_duration").get<int64_t>() < one.at("load_duration").get<int64_t>());
    const json again = post(c, "/api/generate", R"({"model":"stories","prompt":"Once","stream":false,"options":{"num_predict":2}})", 200);
    CHECK(again.at("load_duration").get<int64_t>() > 0);

    const json cut = post(c, "/api/embed", R"({"model":"stories","input":"Once upon a time","dimensions":8})", 200);
    REQUIRE(cut.at("embeddings")[0].size() == 8);
    double cut_norm = 0;
    for (const auto& x : cut["embeddings"][0]) cut_norm += x.get<double>() * x.get<double>();
    CHECK(std::sqrt(cut_norm) == doctest::Approx(1.0).epsilon(1e-5));

    CHECK(post(c, "/api/embed", R"({"model":"stories","input":"a","dimensions":"8"})", 400).at("error") ==
          "dimensions must be a non-negative integer");
    CHECK(post(c, "/api/embed", R"({"model":"stories","input":[]})", 200).at("embeddings") == json::array());
    CHECK(post(c, "/api/embed", R"({"model":"stories","input":42})", 400).at("error") == "invalid input type");
    CHECK(post(c, "/api/embed", R"({"model":"stories","input":["a",1]})", 400).at("error") == "invalid input type");
    CHECK(post(c, "/api/embed", R"({"model":"nope","input":"a"})", 404).at("error") == "model 'nope' not found");

    // Legacy: not normalised, the same direction.
    const json legacy = post(c, "/api/embeddings", R"({"model":"stories","prompt":"Once upon a time"})", 200);
    const auto& raw = legacy.at("embedding");
    REQUIRE(raw.size() == 64);
    double raw_norm = 0;
    for (const auto& x : raw) raw_norm += x.get<double>() * x.get<double>();
    raw_norm = std::sqrt(raw_norm);
    CHECK(raw_norm != doctest::Approx(1.0));
    for (size_t i = 0; i < raw.size(); ++i) CHECK(raw[i].get<double>() / raw_norm == doctest::Approx(v[i].get<double>()).epsilon(1e-4));
    CHECK(post(c, "/api/embeddings", R"({"model":"stories","prompt":""})", 200).at("embedding") == json::array());
}

TEST_CASE("serve: a BERT embedding model embeds through /api/embed and /v1/embeddings, and refuses to generate") {
    Daemon daemon;
    httplib::Client c = daemon.client();
    rockllm::test::ScratchDir dir;
    const std::string path = dir.file("bert.gguf");
    rockllm::write_synthetic_model(rockllm::find_synthetic_shape("tiny-bert"), "Q8_0", 5, path);
    rockllm::test::create_from_gguf(c, "minilm", rockllm::test::read_text(path));

    // What the daemon answers is its tokenizer, encoder and pooling run in this process.
    auto file = std::make_shared<const rockllm::gguf::File>(rockllm::gguf::File::open(path));
    const auto tokenizer = rockllm::load_tokenizer(*file);
    const std::vector<int32_t> tokens = tokenizer->encode("Hello, world", true, true);
    REQUIRE(tokens.size() == 5);  // [CLS] hello , world [SEP]
    CHECK(tokens.front() == 101);
    CHECK(tokens.back() == 102);
    const rockllm::BertModel model = rockllm::BertModel::load(file);
    rockllm::BertEncoder encoder(model, 128, std::make_shared<rockllm::ThreadPool>(1));
    const std::vector<float> expected = encoder.embed(tokens);

    const json one = post(c, "/api/embed", R"({"model":"minilm","input":"Hello, world"})", 200);
    REQUIRE(one.at("embeddings").size() == 1);
    const json& v = one["embeddings"][0];
    REQUIRE(v.size() == 128);
    for (size_t i = 0; i < v.size(); ++i) CHECK(v[i].get<double>() == doctest::Approx(expected[i]).epsilon(1e-4));
    CHECK(one.at("prompt_eval_count") == 5);
    const json openai = post(c, "/v1/embeddings", R"({"model":"minilm","input":["Hello, world","the quick brown fox"]})", 200);
    REQUIRE(openai.at("data").size() == 2);
    for (size_t i = 0; i < v.size(); ++i) CHECK(openai["data"][0]["embedding"][i].get<double>() == doctest::Approx(v[i].get<double>()).epsilon(1e-5));
    CHECK(openai["data"][1]["embedding"] != openai["data"][0]["embedding"]);

    // Longer than its 128 positions: cut, keeping the closing [SEP], or refused without truncate.
    std::string long_text;
    for (int i = 0; i < 300; ++i) long_text += "fox ";
    const json cut = post(c, "/api/embed", json{{"model", "minilm"}, {"input", long_text}}.dump(), 200);
    CHECK(cut.at("prompt_eval_count") == 128);
    CHECK(post(c, "/api/embed", json{{"model", "minilm"}, {"input", long_text}, {"truncate", false}}.dump(), 400).at("error") ==
          "the input length exceeds the context length");

    auto show = c.Post("/api/show", R"({"model":"minilm"})", "application/json");
    REQUIRE(show);
    CHECK(json::parse(show->body).at("capabilities") == json::array({"embedding"}));
    CHECK(post(c, "/api/generate", R"({"model":"minilm","prompt":"hi"})", 400).at("error") ==
          "\"minilm\" does not support generate");
    CHECK(post(c, "/api/chat", R"({"model":"minilm","messages":[{"role":"user","content":"hi"}]})", 400).at("error") ==
          "\"minilm\" does not support chat");
    auto stats = c.Get("/api/npu/stats");
    REQUIRE(stats);
    CHECK(stats->status == 200);
    auto metrics = c.Get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->status == 200);
}

TEST_SUITE_END();

}  // namespace test_serve_models
