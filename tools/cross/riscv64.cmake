# Cross toolchain for riscv64 Linux (tools/cross-test.sh): riscv64-linux-gnu-g++, libraries
# from /usr/lib/riscv64-linux-gnu, tests run through qemu-riscv64-static.
set(CMAKE_SYSTEM_PROCESSOR riscv64)
set(WASMCACHE_CROSS_TRIPLET riscv64-linux-gnu)
set(WASMCACHE_CROSS_MULTIARCH riscv64-linux-gnu)
set(WASMCACHE_CROSS_QEMU qemu-riscv64-static)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
