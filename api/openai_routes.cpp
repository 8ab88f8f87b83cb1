// The OpenAI-compatible routes (/v1/*), translated onto the native handlers' pieces.
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "api/http_json.h"
#include "api/server_context.h"

namespace rockllm {

void register_openai_routes(httplib::Server&, ServerContext&) {}

}  // namespace rockllm
