#include "api/server_context.h"

#include "api/http_json.h"

namespace rockllm {

StoredModel ServerContext::find_model(const std::string& name_text) const {
    ModelName name;
    try {
        name = ModelName::parse(name_text);
    } catch (const InvalidModelName&) {
        throw HttpError(400, "invalid model name");
    }
    std::optional<StoredModel> stored = store.find(name);
    if (!stored) throw HttpError(404, "model '" + name_text + "' not found");
    return std::move(*stored);
}

RouteTable::Handler native_route(ServerContext& context, ContextHandler handler) {
    return [&context, handler](const httplib::Request& req, httplib::Response& res) {
        answer_errors(res, [&] { handler(context, req, res); });
    };
}

RouteTable::ReadingHandler native_route(ServerContext& context, ContextReadingHandler handler) {
    return [&context, handler](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
        answer_errors(res, [&] { handler(context, req, res, reader); });
    };
}

}  // namespace rockllm
