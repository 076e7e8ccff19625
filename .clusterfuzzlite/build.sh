#!/bin/bash -eu
# ClusterFuzzLite's build step: the project's own OSS-Fuzz build script.
exec "$SRC/wasmcache/fuzz/build.sh"
