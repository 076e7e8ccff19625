# Cross toolchain for aarch64 Linux (tools/cross-test.sh): aarch64-linux-gnu-g++, libraries
# from /usr/lib/aarch64-linux-gnu, tests run through qemu-aarch64-static.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(WASMCACHE_CROSS_TRIPLET aarch64-linux-gnu)
set(WASMCACHE_CROSS_MULTIARCH aarch64-linux-gnu)
set(WASMCACHE_CROSS_QEMU qemu-aarch64-static)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
