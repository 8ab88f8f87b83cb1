#include "tokenizer/hf_tokenizer_json.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace rockllm {

namespace {

using nlohmann::json;

// Llama 3 splits digits in runs of up to three, Qwen2 one by one; otherwise the expressions agree.
std::string recognise_pre(const json& doc) {
    const std::string text = doc.contains("pre_tokenizer") ? doc["pre_tokenizer"].dump() : "";
    if (text.find(R"(\\p{N}{1,3})") != std::string::npos) return "llama-bpe";
    if (text.find(R"(\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*)") != std::string::npos) return "qwen2";
    throw std::runtime_error("cannot tell the pre-tokenizer of this tokenizer.json; name it explicitly");
}

}  // namespace

Vocabulary read_hf_tokenizer_json(const std::string& path, const std::string& pre) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open '" + path + "'");
    json doc;
    try {
        doc = json::parse(in);
    } catch (const json::exception& e) {
        throw std::runtime_error("'" + path + "' is not valid JSON: " + e.what());
    }
    try {
        const json& model = doc.at("model");
        if (model.value("type", "") != "BPE") throw std::runtime_error("only BPE tokenizer.json models are supported");

        Vocabulary v;
        v.model = "gpt2";
        v.pre = pre.empty() ? recognise_pre(doc) : pre;
        v.add_space_prefix = false;

        const json& vocab = model.at("vocab");
        int64_t size = 0;
        for (const auto& [token, id] : vocab.items()) size = std::max<int64_t>(size, id.get<int64_t>() + 1);
        if (doc.contains("added_tokens"))
            for (const json& t : doc["added_tokens"]) size = std::max<int64_t>(size, t.at("id").get<int64_t>() + 1);
        if (size <= 0 || size > (int64_t{1} << 24)) throw std::runtime_error("vocabulary size out of range");
        v.tokens.assign(static_cast<size_t>(size), "");
        v.types.assign(static_cast<size_t>(size), TokenType::Unused);
        v.scores.assign(static_cast<size_t>(size), 0.0f);
        for (const auto& [token, id] : vocab.items()) {
            const auto i = id.get<int64_t>();
            if (i < 0) throw std::runtime_error("negative token id for '" + token + "'");
            v.tokens[i] = token;
            v.types[i] = TokenType::Normal;
        }
        if (doc.contains("added_tokens")) {
            for (const json& t : doc["added_tokens"]) {
                const auto i = t.at("id").get<int64_t>();
                v.tokens[i] = t.at("content").get<std::string>();
                v.types[i] = t.value("special", false) ? TokenType::Control : TokenType::UserDefined;
            }
        }
        // Merges are "left right" strings in older files and [left, right] pairs in newer ones.
        for (const json& m : model.at("merges")) {
            if (m.is_string()) v.merges.push_back(m.get<std::string>());
            else v.merges.push_back(m.at(0).get<std::string>() + " " + m.at(1).get<std::string>());
        }
        return v;
    } catch (const json::exception& e) {
        throw std::runtime_error("'" + path + "' is not a usable tokenizer.json: " + e.what());
    }
}

}  // namespace rockllm
