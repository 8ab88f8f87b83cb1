// systemd's notification protocol for Type=notify services: datagrams such as "READY=1" sent to
// the Unix socket named by $NOTIFY_SOCKET. Written here rather than taken from libsystemd: the
// protocol is a documented, stable one-liner over a socket, and the daemon then runs (and is
// tested) the same with or without systemd and needs no extra library on the board.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace rockllm {

// Sends the state ("READY=1", "STATUS=...", "WATCHDOG=1", "STOPPING=1"); false when there is no
// NOTIFY_SOCKET (not started by systemd) or the send failed.
bool sd_notify(const std::string& state);

// The watchdog interval systemd asked for (WATCHDOG_USEC, for this process per WATCHDOG_PID);
// nullopt when the watchdog is off.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace rockllm
