# Shared part of the cross toolchain files (tools/cross/<arch>.cmake): Debian's
# cross compilers (g++-<triplet>), target libraries from Debian multiarch
# (/usr/lib/<multiarch>, e.g. libabsl-dev:arm64), and qemu-user as the
# emulator through which ctest and gtest_discover_tests run the test binaries.
#
# Set before including: WASMCACHE_CROSS_TRIPLET (compiler prefix),
# WASMCACHE_CROSS_MULTIARCH (Debian multiarch directory), WASMCACHE_CROSS_QEMU
# (qemu-user binary), CMAKE_SYSTEM_PROCESSOR.
set(CMAKE_SYSTEM_NAME Linux)

set(CMAKE_C_COMPILER ${WASMCACHE_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${WASMCACHE_CROSS_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${WASMCACHE_CROSS_MULTIARCH})

# The cross libc and libstdc++ live in /usr/<triplet>; multiarch libraries
# (absl, gtest) in /usr/lib/<multiarch> of the host root, which the default
# search finds through CMAKE_LIBRARY_ARCHITECTURE. Libraries built from
# Debian's sources where the archive has no binary packages (riscv64 on
# bookworm) come through CMAKE_PREFIX_PATH (WASMCACHE_CROSS_DEPS, a cache
# variable tools/cross-test.sh passes).
set(CMAKE_FIND_ROOT_PATH /usr/${WASMCACHE_CROSS_TRIPLET})
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES WASMCACHE_CROSS_DEPS)
if(WASMCACHE_CROSS_DEPS)
  list(APPEND CMAKE_FIND_ROOT_PATH ${WASMCACHE_CROSS_DEPS})
  list(APPEND CMAKE_PREFIX_PATH ${WASMCACHE_CROSS_DEPS})
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# The loader, libc and libstdc++ the tests run with must come from one glibc
# build (ld.so and libc.so.6 share private interfaces: a mix hangs in the
# first pthread_create). Where Debian multiarch has the target's libc6
# (libc6:arm64, :s390x, :i386, pulled in by libabsl-dev:<arch>), qemu runs
# with the host root as the target's root (-L /): the loader
# /lib/ld-linux-*.so and every library come from /lib/<multiarch> and
# /usr/lib/<multiarch>. Without it (riscv64 on Debian 12), the prefix is the
# cross runtime /usr/<triplet> (libc6-<arch>-cross, libstdc++6-<arch>-cross)
# and the other libraries are linked statically.
if(EXISTS /usr/lib/${WASMCACHE_CROSS_MULTIARCH}/libc.so.6
   OR EXISTS /lib/${WASMCACHE_CROSS_MULTIARCH}/libc.so.6)
  set(WASMCACHE_CROSS_QEMU_ROOT /)
else()
  set(WASMCACHE_CROSS_QEMU_ROOT /usr/${WASMCACHE_CROSS_TRIPLET})
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR
  ${WASMCACHE_CROSS_QEMU} -L ${WASMCACHE_CROSS_QEMU_ROOT})
