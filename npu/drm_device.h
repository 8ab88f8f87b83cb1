// The NPU through its kernel driver: finding the device node, and the two drivers behind the
// NpuDevice interface — mainline Rocket (/dev/accel/accel*) and Rockchip's rknpu (a DRM node
// named "rknpu"). Only ioctls and mmap: no vendor library.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "npu/device.h"

namespace rockllm::npu {

enum class DriverKind { Rocket, Rknpu };

struct DeviceNode {
    DriverKind driver;
    std::string path;
    std::string version;  // "1.0.0" from DRM_IOCTL_VERSION
};

// The first NPU node found (Rocket first, then rknpu); nullopt when there is none. A node that
// exists but cannot be opened throws NpuError saying how to get access (render group, udev rule).
std::optional<DeviceNode> find_npu_node();

// Opens the node; one device is one fd, i.e. one NPU address space (Rocket runs the jobs of one fd
// on one core at a time: use one device per core).
std::unique_ptr<NpuDevice> open_npu_device(const DeviceNode& node);

}  // namespace rockllm::npu
