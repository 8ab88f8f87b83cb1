// Parses a Jinja template's source into its syntax tree; throws jinja::Error with the line.
#pragma once

#include <string>

#include "chat/jinja_ast.h"

namespace rockllm::jinja {

Body parse(const std::string& source);

}  // namespace rockllm::jinja
