# Cross toolchain for i686 Linux (tools/cross-test.sh): i686-linux-gnu-g++, libraries
# from /usr/lib/i386-linux-gnu, tests run through qemu-i386-static.
set(CMAKE_SYSTEM_PROCESSOR i686)
set(WASMCACHE_CROSS_TRIPLET i686-linux-gnu)
set(WASMCACHE_CROSS_MULTIARCH i386-linux-gnu)
set(WASMCACHE_CROSS_QEMU qemu-i386-static)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
