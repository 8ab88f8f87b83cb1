#include "fuzz_targets.h"

#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/anthropic_messages.h"
#include "api/inference.h"
#include "api/openai_responses.h"
#include "api/keep_alive.h"
#include "api/loaded_model.h"
#include "llm/gguf.h"
#include "grammar/json_schema_grammar.h"
#include "grammar/token_constraint.h"
#include "llm/model.h"
#include "chat/chat_prompt.h"
#include "chat/go_template.h"
#include "chat/jinja.h"
#include "models/model_name.h"
#include "models/model_store.h"
#include "models/modelfile.h"
#include "npu/matmul_plan.h"
#include "npu/matmul_task.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocabulary.h"

namespace rockllm::fuzz {

namespace {

using nlohmann::json;

std::string text_of(const uint8_t* data, size_t size) { return std::string(reinterpret_cast<const char*>(data), size); }

// Runs body; a std::exception is a clean refusal of bad input.
template <class F>
int refusing(F&& body) {
    try {
        body();
    } catch (const std::exception&) {
    }
    return 0;
}

// A GGUF from the internet: the header, metadata and tensor table, then the vocabulary and the
// model's tensors as loading checks them.
int gguf_file(const uint8_t* data, size_t size) {
    return refusing([&] {
        auto file = std::make_shared<const gguf::File>(gguf::File::parse(std::vector<uint8_t>(data, data + size)));
        try {
            const Vocabulary vocab = read_vocabulary(*file);
            auto tokenizer = make_tokenizer(vocab);
            tokenizer->encode("Hello world", true, true);
        } catch (const std::exception&) {
        }
        Model::load(file);
    });
}

std::unique_ptr<Tokenizer> load_vocab(const char* name) {
    return load_tokenizer(gguf::File::open(std::string(ROCKLLM_TESTDATA_DIR) + "/vocab/" + name));
}

// Encoding arbitrary bytes (special tokens parsed and not), then decoding the input read as ids.
int tokenize_with(const Tokenizer& tokenizer, const uint8_t* data, size_t size) {
    const std::string text = text_of(data, size);
    refusing([&] { tokenizer.encode(text, true, true); });
    refusing([&] { tokenizer.encode(text, false, false); });
    std::vector<int32_t> ids;
    for (size_t i = 0; i + 2 <= size; i += 2) ids.push_back(static_cast<int32_t>((data[i] << 8 | data[i + 1]) % (tokenizer.vocabulary().size() + 8)) - 4);
    refusing([&] { tokenizer.decode(ids); });
    for (int32_t id : ids) refusing([&] { tokenizer.token_to_piece(id, true); });
    return 0;
}

int tokenizer_spm(const uint8_t* data, size_t size) {
    static const auto tokenizer = load_vocab("ggml-vocab-llama-spm.gguf");
    return tokenize_with(*tokenizer, data, size);
}

int tokenizer_bpe(const uint8_t* data, size_t size) {
    static const auto tokenizer = load_vocab("ggml-vocab-gpt-2.gguf");
    return tokenize_with(*tokenizer, data, size);
}

int tokenizer_wordpiece(const uint8_t* data, size_t size) {
    static const auto tokenizer = load_vocab("ggml-vocab-bert-bge.gguf");
    return tokenize_with(*tokenizer, data, size);
}

// A unigram vocabulary's character map as a hostile GGUF may carry it: refused, or followed only
// within its bounds while texts are normalized with it.
int precompiled_charsmap(const uint8_t* data, size_t size) {
    Vocabulary v;
    v.model = "t5";
    v.tokens = {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b", "\xe2\x96\x81" "a", "ab"};
    v.types = {TokenType::Unknown, TokenType::Control, TokenType::Control, TokenType::Normal,
               TokenType::Normal, TokenType::Normal, TokenType::Normal, TokenType::Normal};
    v.scores = {0, 0, 0, -2, -3, -3, -1, -2};
    v.unk_id = 0;
    v.bos_id = 1;
    v.eos_id = 2;
    v.add_space_prefix = true;
    v.remove_extra_whitespaces = size % 2 == 0;
    v.precompiled_charsmap = text_of(data, size);
    std::unique_ptr<Tokenizer> tokenizer;
    try {
        tokenizer = make_tokenizer(std::move(v));
    } catch (const std::exception&) {
        return 0;
    }
    for (const char* text : {"ab ba", "  a\tb  ", "\xef\xbc\xa1\xef\xbd\x82", "\xe2\x85\xa1", "\xff\xfe" "a", "</s>a"})
        refusing([&] { tokenizer->encode(text, true, true); });
    return 0;
}

// A request body as the routes decode it: every field decoder over whatever JSON arrives.
int json_request(const uint8_t* data, size_t size) {
    const std::string text = text_of(data, size);
    const json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return 0;
    refusing([&] { parse_messages(body.is_object() && body.contains("messages") ? body["messages"] : body); });
    refusing([&] { parse_think(body); });
    refusing([&] { parse_anthropic_request(body); });
    refusing([&] {
        const auto ordered = nlohmann::ordered_json::parse(text, nullptr, false);
        parse_responses_request(body, ordered.is_object() && ordered.contains("text") ? ordered["text"] : nlohmann::ordered_json());
    });
    refusing([&] { dimensions_field(body); });
    refusing([&] { keep_alive_from_json(body); });
    refusing([&] {
        InferenceRequest request;
        request.apply_ollama_options(body.is_object() && body.contains("options") ? body["options"] : body);
    });
    refusing([&] {
        const auto ordered = nlohmann::ordered_json::parse(text, nullptr, false);
        if (ordered.is_object() && ordered.contains("format")) format_grammar(ordered["format"]);
    });
    return 0;
}

// Model names and digests become paths: every accepted one must stay inside the store.
int model_name(const uint8_t* data, size_t size) {
    const std::string text = text_of(data, size);
    static const ModelStore store("/nonexistent-rockllm-store");
    refusing([&] {
        const ModelName name = ModelName::parse(text);
        const std::string path = store.manifest_path(name).lexically_normal().string();
        if (path.rfind("/nonexistent-rockllm-store/", 0) != 0 || path.find("/../") != std::string::npos) std::abort();
        ModelName::parse(name.display());
    });
    refusing([&] {
        const std::string path = store.blob_path(text).lexically_normal().string();
        const std::string prefix = "/nonexistent-rockllm-store/blobs/sha256-";
        if (path.rfind(prefix, 0) != 0 || path.find('/', prefix.size()) != std::string::npos) std::abort();
    });
    return 0;
}

int modelfile(const uint8_t* data, size_t size) {
    return refusing([&] { parse_modelfile(text_of(data, size)); });
}

const json& template_data() {
    static const json data = json::parse(R"({"System":"sys","Prompt":"hi","Response":"","Suffix":"","Think":true,"ThinkLevel":"high",
        "IsThinkSet":true,"Tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
        "Messages":[{"Role":"user","Content":"hello","Thinking":"","ToolCalls":[]},
                    {"Role":"assistant","Content":"ok","Thinking":"hm","ToolCalls":[{"Function":{"Name":"f","Arguments":{"a":1}}}]}]})");
    return data;
}

int go_template(const uint8_t* data, size_t size) {
    return refusing([&] {
        const gotmpl::Template t = gotmpl::Template::parse(text_of(data, size));
        t.execute(template_data());
        t.execute_until_response(template_data());
    });
}

int jinja_template(const uint8_t* data, size_t size) {
    static const nlohmann::ordered_json variables = nlohmann::ordered_json::parse(R"({"messages":[{"role":"system","content":"sys"},
        {"role":"user","content":"hi"},{"role":"assistant","content":"ok","tool_calls":[{"type":"function","function":{"name":"f","arguments":{"a":1}}}]},
        {"role":"tool","content":"42","tool_call_id":"call_1"}],"tools":[{"type":"function","function":{"name":"f"}}],
        "add_generation_prompt":true,"bos_token":"<s>","eos_token":"</s>","enable_thinking":true})");
    return refusing([&] { jinja::Template(text_of(data, size)).render(variables); });
}

// The regcmd builder's input checks: any shape, type and addresses.
int npu_regcmd(const uint8_t* data, size_t size) {
    if (size < 1 + 3 * 4 + 3 * 8) return 0;
    const auto type = (data[0] & 1) ? npu::MatmulType::Fp16 : npu::MatmulType::Int8;
    int32_t dims[3];
    std::memcpy(dims, data + 1, sizeof dims);
    npu::MatmulAddresses addresses;
    std::memcpy(&addresses.feature, data + 13, 8);
    std::memcpy(&addresses.weights, data + 21, 8);
    std::memcpy(&addresses.output, data + 29, 8);
    const npu::MatmulShape shape{dims[0], dims[1], dims[2]};
    refusing([&] { npu::build_matmul_task(shape, type, addresses); });
    refusing([&] {
        const npu::MatmulShape padded = npu::padded_shape(shape, type);
        if (npu::fits_one_task(padded, type)) npu::build_matmul_task(padded, type, addresses);
    });
    refusing([&] { npu::plan_matmul(shape, type); });
    return 0;
}

// A "format" schema compiled to a grammar, then a few constrained steps over a small vocabulary.
int json_schema(const uint8_t* data, size_t size) {
    return refusing([&] {
        const auto format = nlohmann::ordered_json::parse(text_of(data, size));
        const Grammar grammar = grammar_for_format(format);
        static const SortedVocabulary vocabulary({"", "{", "}", "[", "]", "\"", ":", ",", " ", "a", "1", "-", ".", "e", "true", "false",
                                                  "null", "\\", "u", "0", "\"a\"", "\xC3\xA9", "\n"});
        TokenConstraint constraint(grammar, vocabulary, {0}, 64);
        std::vector<float> logits(static_cast<size_t>(vocabulary.size()));
        for (int step = 0; step < 64 && !constraint.finished(); ++step) {
            for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>((i * 7 + static_cast<size_t>(step) * 3) % 11);
            if (!constraint.mask(logits)) break;  // this small vocabulary cannot spell every schema
            int32_t best = 0;
            for (size_t i = 1; i < logits.size(); ++i)
                if (logits[i] > logits[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
            if (best == 0) break;
            constraint.accept(best);
        }
    });
}

}  // namespace

const std::vector<Target>& targets() {
    static const std::vector<Target> all = {
        {"gguf", gguf_file},           {"tokenizer_spm", tokenizer_spm}, {"tokenizer_bpe", tokenizer_bpe},
        {"tokenizer_wordpiece", tokenizer_wordpiece}, {"json_request", json_request}, {"model_name", model_name},       {"modelfile", modelfile},
        {"go_template", go_template},   {"jinja_template", jinja_template}, {"npu_regcmd", npu_regcmd},
        {"json_schema", json_schema},   {"precompiled_charsmap", precompiled_charsmap},
    };
    return all;
}

const Target* find_target(const std::string& name) {
    for (const Target& t : targets())
        if (name == t.name) return &t;
    return nullptr;
}

}  // namespace rockllm::fuzz
