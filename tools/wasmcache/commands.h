// Subcommands of the wasmcache tool that live in their own files.

#ifndef WASMCACHE_TOOLS_WASMCACHE_COMMANDS_H_
#define WASMCACHE_TOOLS_WASMCACHE_COMMANDS_H_

namespace wasmcache {

// wasmcache equiv [--arch A] [--seeds N] [--mutants M] DIR...
int EquivMain(int argc, char** argv);
// wasmcache bench --arch A --wasm M.wasm C.cache [--runs N] [--json]
int BenchMain(int argc, char** argv);
// wasmcache prove [--arch A] [--smt2-dir D] [--recheck cvc5] [--json] ...
int ProveMain(int argc, char** argv);
// Internal: one fast load in a fresh process, for peak memory.
int BenchPeakMain(int argc, char** argv);

}  // namespace wasmcache

#endif  // WASMCACHE_TOOLS_WASMCACHE_COMMANDS_H_
