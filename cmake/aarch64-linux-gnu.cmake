# Cross-compiling for aarch64 boards with Debian's aarch64-linux-gnu toolchain and the arm64 -dev
# packages of Debian multiarch (libcpp-httplib-dev:arm64, libpcre2-dev:arm64, libssl-dev:arm64,
# libdrm-dev:arm64). sentencepiece's -dev package cannot be co-installed with the amd64 one, so it
# comes extracted into the directory the environment variable ROCKLLM_ARM64_SYSROOT names
# (tools/build-arm64-package.sh does that). An environment variable, because CMake reads this file
# again in its try-compile projects, which see no cache variables.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(ROCKLLM_ARM64_SYSROOT "$ENV{ROCKLLM_ARM64_SYSROOT}")
set(pkg_config_dirs /usr/lib/aarch64-linux-gnu/pkgconfig /usr/share/pkgconfig)
if(ROCKLLM_ARM64_SYSROOT)
  list(PREPEND pkg_config_dirs ${ROCKLLM_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig)
  # Libraries those packages need at link time (sentencepiece -> protobuf-lite).
  add_link_options(-Wl,-rpath-link,${ROCKLLM_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu)
endif()
list(JOIN pkg_config_dirs ":" pkg_config_path)
set(ENV{PKG_CONFIG_LIBDIR} "${pkg_config_path}")
set(ENV{PKG_CONFIG_PATH} "")

# Find headers and libraries of the target, programs of the host.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu ${ROCKLLM_ARM64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
