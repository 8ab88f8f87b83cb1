// The client commands of the rockllm binary, talking to a running server over HTTP as `ollama`
// does: run, pull, list (ls), ps, show, rm, cp, create, stop.
#pragma once

#include <string>
#include <vector>

namespace rockllm {

// Runs the client command `name` (one of the above); returns the exit status. False from
// is_client_command means the name is not one of them.
bool is_client_command(const std::string& name);
int run_client_command(const std::string& name, const std::vector<std::string>& args);

}  // namespace rockllm
