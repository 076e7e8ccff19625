;; tiered.wat — a module whose cache is made the way V8 tiers code at run
;; time, not with --no-liftoff: Liftoff compiles each function lazily on its
;; first call, and a function whose tiering budget runs out is recompiled by
;; TurboFan, which speculatively inlines the call_indirect targets Liftoff
;; saw (--wasm-inlining-call-indirect). corpus/wat/tiered.tiering.json holds
;; the V8 flags and the warm-up calls tools/v8/serialize-tiered.cjs makes
;; before it serializes. The cache then holds:
;;   - "hot": TurboFan (tag 4). The two call_indirect sites in its loop saw
;;     $inc and $double (polymorphic) and $add (monomorphic): each inlined
;;     target is guarded by a comparison with its code pointer, a
;;     WASM_CODE_POINTER_TABLE_ENTRY relocation whose tag is the target's
;;     function index (imports included: the import below shifts the
;;     indices by one). The call to $rare was never taken, so it stays a
;;     WASM_CALL to a function that has no code.
;;   - functions that ran in Liftoff ($inc, $double, $add, "warm"): tag 3
;;     (eager), their tiering budgets below the initial --wasm-tiering-budget.
;;   - functions never called ($square, $neg, $sub, $rare, "cold"): tag 2
;;     (lazy), budget untouched.
;;   - "boom": Liftoff code that trapped before reaching a tiering check (at
;;     a return or a loop back edge), so its budget is untouched and it is
;;     written as lazy (tag 2) although it was compiled.
;; The import is the harness's env.add (tools/v8/common.cjs).
(module
  (import "env" "add" (func $env_add (param i32 i32) (result i32)))

  (type $unary (func (param i32) (result i32)))
  (type $binary (func (param i32 i32) (result i32)))

  (table 8 funcref)
  ;; slots 0..5 filled, 6..7 stay null
  (elem (i32.const 0) $inc $double $square $neg $add $sub)

  (func $inc (type $unary) (i32.add (local.get 0) (i32.const 1)))
  (func $double (type $unary) (i32.shl (local.get 0) (i32.const 1)))
  (func $square (type $unary) (i32.mul (local.get 0) (local.get 0)))
  (func $neg (type $unary) (i32.sub (i32.const 0) (local.get 0)))
  (func $add (type $binary) (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $binary) (i32.sub (local.get 0) (local.get 1)))

  ;; rare(x): a scrambled x; hot calls it only when its result is negative.
  (func $rare (param $x i32) (result i32)
    (i32.xor (i32.mul (local.get $x) (i32.const 0x9e3779b1)) (i32.const 0x55)))

  ;; hot(i, n): n rounds of
  ;;   acc = table[i + (k & 1)](acc)       (unary, two alternating slots)
  ;;   acc = table[4 + (i & 1)](acc, k)    (binary: $add for even i, $sub for odd)
  ;; then env.add(acc', n), where acc' = rare(acc) if acc < 0, else acc.
  (func (export "hot") (param $i i32) (param $n i32) (result i32)
    (local $k i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        (local.set $acc
          (call_indirect (type $unary)
            (local.get $acc)
            (i32.add (local.get $i) (i32.and (local.get $k) (i32.const 1)))))
        (local.set $acc
          (call_indirect (type $binary)
            (local.get $acc) (local.get $k)
            (i32.add (i32.const 4) (i32.and (local.get $i) (i32.const 1)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (call $env_add
      (if (result i32) (i32.lt_s (local.get $acc) (i32.const 0))
        (then (call $rare (local.get $acc)))
        (else (local.get $acc)))
      (local.get $n)))

  ;; warm(x) = 3x + 7
  (func (export "warm") (param $x i32) (result i32)
    (i32.add (i32.mul (local.get $x) (i32.const 3)) (i32.const 7)))

  ;; cold(x) = table[2](x) = x * x
  (func (export "cold") (param $x i32) (result i32)
    (call_indirect (type $unary) (local.get $x) (i32.const 2)))

  ;; boom(): traps (unreachable).
  (func (export "boom") (result i32)
    (unreachable))
)
