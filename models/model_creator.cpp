#include "models/model_creator.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "llm/gguf.h"
#include "llm/gguf_requantize.h"
#include "models/model_details.h"

namespace rockllm {

namespace {

constexpr const char* kConfigMediaType = "application/vnd.docker.container.image.v1+json";

std::string read_blob(const ModelStore& store, const std::string& digest) {
    std::ifstream in(store.blob_path(digest), std::ios::binary);
    if (!in) throw CreateError(500, "blob " + digest + " cannot be read");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

class LayerBuilder {
public:
    LayerBuilder(const ModelStore& store, const std::function<void(const std::string&)>& progress)
        : store_(store), progress_(progress) {}

    Layer text_layer(const char* media_type, const std::string& text) {
        const std::string digest = "sha256:" + sha256_hex(text);
        progress_((store_.has_blob(digest) ? "using existing layer " : "creating new layer ") + digest);
        store_.write_blob(text);
        return Layer{media_type, digest, static_cast<int64_t>(text.size()), ""};
    }

private:
    const ModelStore& store_;
    const std::function<void(const std::string&)>& progress_;
};

void replace_layers(std::vector<Layer>& layers, const char* media_type, std::vector<Layer> replacement) {
    std::erase_if(layers, [&](const Layer& l) { return l.media_type == media_type; });
    layers.insert(layers.end(), replacement.begin(), replacement.end());
}

// The weights of a new model from its uploaded GGUF file.
void layers_from_files(const ModelStore& store, const CreateRequest& request, std::vector<Layer>& layers,
                       nlohmann::ordered_json& config, const std::function<void(const std::string&)>& progress) {
    if (request.files.size() != 1)
        throw CreateError(400, "exactly one GGUF file is supported in \"files\" (got " + std::to_string(request.files.size()) + ")");
    const auto& [file_name, digest] = request.files.front();
    if (!is_valid_digest(digest)) throw CreateError(400, "invalid digest format");
    if (!store.has_blob(digest)) throw CreateError(400, "blob " + digest + " for \"" + file_name + "\" was not uploaded");
    progress("parsing GGUF");
    try {
        const gguf::File file = gguf::File::open(store.blob_path(digest).string());
        config = config_from_gguf(file);
    } catch (const gguf::FormatError& e) {
        throw CreateError(400, "\"" + file_name + "\" is not a valid GGUF file: " + e.what());
    }
    std::error_code ec;
    const auto size = std::filesystem::file_size(store.blob_path(digest), ec);
    progress("using existing layer " + digest);
    layers.push_back(Layer{media_type::kModel, "sha256:" + digest.substr(7), static_cast<int64_t>(size), ""});
}

void layers_from_model(const ModelStore& store, const CreateRequest& request, std::vector<Layer>& layers,
                       nlohmann::ordered_json& config, const std::function<void(const std::string&)>& progress) {
    ModelName base_name;
    try {
        base_name = ModelName::parse(request.from);
    } catch (const InvalidModelName&) {
        throw CreateError(400, "invalid model name in \"from\": '" + request.from + "'");
    }
    const std::optional<StoredModel> base = store.find(base_name);
    if (!base) throw CreateError(404, "model '" + request.from + "' not found");
    config = nlohmann::ordered_json::parse(read_blob(store, base->manifest.config.digest), nullptr, false);
    if (!config.is_object()) throw CreateError(500, "the config of '" + request.from + "' is not valid JSON");
    for (Layer layer : base->manifest.layers) {
        if (layer.media_type == media_type::kModel && layer.from.empty()) layer.from = base->name.display();
        progress("using existing layer " + layer.digest);
        layers.push_back(std::move(layer));
    }
}

// The LoRA adapter layer: one uploaded GGUF adapter for the model's architecture (applied when
// the model loads).
Layer adapter_layer(const ModelStore& store, const CreateRequest& request, const std::vector<Layer>& layers,
                    const std::function<void(const std::string&)>& progress) {
    if (request.adapters.size() != 1) throw CreateError(400, "only one adapter is currently supported");
    const auto& [file_name, digest] = request.adapters.front();
    if (!is_valid_digest(digest)) throw CreateError(400, "invalid digest format");
    if (!store.has_blob(digest)) throw CreateError(400, "blob " + digest + " for \"" + file_name + "\" was not uploaded");
    const auto weights = std::find_if(layers.begin(), layers.end(), [](const Layer& l) { return l.media_type == media_type::kModel; });
    if (weights == layers.end()) throw CreateError(400, "an adapter needs a model to adapt");
    try {
        const gguf::File adapter = gguf::File::open(store.blob_path(digest).string());
        const gguf::File base = gguf::File::open(store.blob_path(weights->digest).string());
        if (adapter.metadata().get_or<std::string>("general.type", "") != "adapter" ||
            adapter.metadata().get_or<std::string>("adapter.type", "") != "lora")
            throw CreateError(400, "\"" + file_name + "\" is not a LoRA adapter GGUF");
        const std::string arch = adapter.metadata().get_or<std::string>("general.architecture", "");
        const std::string base_arch = base.metadata().get_or<std::string>("general.architecture", "");
        if (arch != base_arch) throw CreateError(400, "the adapter \"" + file_name + "\" is for " + arch + ", the model is " + base_arch);
    } catch (const gguf::FormatError& e) {
        throw CreateError(400, "\"" + file_name + "\" is not a valid GGUF file: " + e.what());
    }
    progress("using existing layer " + digest);
    return Layer{media_type::kAdapter, digest, static_cast<int64_t>(std::filesystem::file_size(store.blob_path(digest))), ""};
}

// The model layer re-quantized into the requested mix: a new GGUF blob, and the config's file type.
void quantize_model_layer(const ModelStore& store, const std::string& quantize, std::vector<Layer>& layers,
                          nlohmann::ordered_json& config, const std::function<void(const std::string&)>& progress) {
    gguf::QuantizeMix mix;
    try {
        mix = gguf::parse_quantize_mix(quantize);
    } catch (const std::invalid_argument& e) {
        throw CreateError(400, e.what());
    }
    const auto weights = std::find_if(layers.begin(), layers.end(), [](const Layer& l) { return l.media_type == media_type::kModel; });
    if (weights == layers.end()) throw CreateError(400, "the model has no weights to quantize");
    const std::filesystem::path temporary = store.new_temporary_blob_path();
    {
        const gguf::File file = gguf::File::open(store.blob_path(weights->digest).string());
        const std::string from = file_type_name(file.metadata().get_or<uint32_t>("general.file_type", 0));
        progress("quantizing " + from + " model to " + gguf::quantize_mix_name(mix));
        try {
            gguf::requantize(file, mix, temporary.string());
        } catch (const std::invalid_argument& e) {
            throw CreateError(400, e.what());
        }
    }
    const std::string digest = store.adopt_blob(temporary);
    progress("using existing layer " + digest);
    config["file_type"] = gguf::quantize_mix_name(mix);  // the name of the general.file_type requantize wrote
    *weights = Layer{media_type::kModel, digest, static_cast<int64_t>(std::filesystem::file_size(store.blob_path(digest))), ""};
}

}  // namespace

void create_model(const ModelStore& store, const CreateRequest& request,
                  const std::function<void(const std::string& status)>& progress) {
    std::vector<Layer> layers;
    nlohmann::ordered_json config;
    if (!request.files.empty()) layers_from_files(store, request, layers, config, progress);
    else if (!request.from.empty()) layers_from_model(store, request, layers, config, progress);
    else throw CreateError(400, "neither 'from' or 'files' was specified");
    if (!request.quantize.empty()) quantize_model_layer(store, request.quantize, layers, config, progress);
    if (!request.adapters.empty()) replace_layers(layers, media_type::kAdapter, {adapter_layer(store, request, layers, progress)});

    LayerBuilder builder(store, progress);
    if (request.template_text)
        replace_layers(layers, media_type::kTemplate, {builder.text_layer(media_type::kTemplate, *request.template_text)});
    if (request.system) replace_layers(layers, media_type::kSystem, {builder.text_layer(media_type::kSystem, *request.system)});
    if (!request.parameters.is_null()) {
        if (!request.parameters.is_object()) throw CreateError(400, "\"parameters\" must be an object");
        nlohmann::json merged = nlohmann::json::object();  // the base model's values, overridden
        for (const Layer& l : layers)
            if (l.media_type == media_type::kParams) {
                merged = nlohmann::json::parse(read_blob(store, l.digest), nullptr, false);
                if (!merged.is_object()) merged = nlohmann::json::object();
            }
        for (const auto& [key, value] : request.parameters.items()) merged[key] = value;
        replace_layers(layers, media_type::kParams, {builder.text_layer(media_type::kParams, merged.dump())});
    }
    if (!request.messages.is_null()) {
        if (!request.messages.is_array()) throw CreateError(400, "\"messages\" must be an array");
        nlohmann::ordered_json messages = nlohmann::ordered_json::array();
        for (const auto& m : request.messages) {
            if (!m.is_object() || !m.value("role", nlohmann::json()).is_string() || !m.value("content", nlohmann::json()).is_string())
                throw CreateError(400, "each message needs a string \"role\" and \"content\"");
            messages.push_back({{"role", m["role"]}, {"content", m["content"]}});
        }
        replace_layers(layers, media_type::kMessages, {builder.text_layer(media_type::kMessages, messages.dump())});
    }
    if (request.licenses) {
        std::vector<Layer> licenses;
        for (const std::string& text : *request.licenses) licenses.push_back(builder.text_layer(media_type::kLicense, text));
        replace_layers(layers, media_type::kLicense, licenses);
    }

    nlohmann::ordered_json diff_ids = nlohmann::ordered_json::array();
    for (const Layer& l : layers) diff_ids.push_back(l.digest);
    config["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
    const std::string config_bytes = config.dump();

    Manifest manifest;
    manifest.config = Layer{kConfigMediaType, store.write_blob(config_bytes), static_cast<int64_t>(config_bytes.size()), ""};
    manifest.layers = std::move(layers);
    progress("writing manifest");
    store.replace_manifest(request.name, serialize_manifest(manifest));  // a re-created model's old blobs go
    progress("success");
}

}  // namespace rockllm
