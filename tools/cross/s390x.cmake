# Cross toolchain for s390x Linux (tools/cross-test.sh): s390x-linux-gnu-g++, libraries
# from /usr/lib/s390x-linux-gnu, tests run through qemu-s390x-static.
set(CMAKE_SYSTEM_PROCESSOR s390x)
set(WASMCACHE_CROSS_TRIPLET s390x-linux-gnu)
set(WASMCACHE_CROSS_MULTIARCH s390x-linux-gnu)
set(WASMCACHE_CROSS_QEMU qemu-s390x-static)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
