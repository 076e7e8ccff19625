;; tiered_deopt.wat — like tiered.wat, a cache made after Liftoff ran and
;; collected feedback, but with --wasm-deopt (see
;; corpus/wat/tiered_deopt.tiering.json): TurboFan guards each speculatively
;; inlined call_indirect target with a deoptimization exit instead of a
;; generic call, so the TurboFan record carries deoptimization data and
;; inlining positions. "spin" is tiered up explicitly (%WasmTierUpFunction,
;; as V8's own tests do) after the warm-up saw only $inc at its call site;
;; calling it with another slot after the cache is loaded deoptimizes back
;; to Liftoff (the call spec does). Records: "spin" TurboFan (tag 4), $inc
;; eager (tag 3), everything else lazy (tag 2).
(module
  (type $unary (func (param i32) (result i32)))

  (table 5 funcref)
  ;; slots 0..2 filled, 3..4 stay null
  (elem (i32.const 0) $inc $double $square)

  (func $inc (type $unary) (i32.add (local.get 0) (i32.const 1)))
  (func $double (type $unary) (i32.shl (local.get 0) (i32.const 1)))
  (func $square (type $unary) (i32.mul (local.get 0) (local.get 0)))

  ;; spin(i, x, n): n rounds of x = table[i](x) ^ k, k counting the rounds.
  (func (export "spin") (param $i i32) (param $x i32) (param $n i32) (result i32)
    (local $k i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        (local.set $x
          (i32.xor
            (call_indirect (type $unary) (local.get $x) (local.get $i))
            (local.get $k)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $x))

  ;; idle(x) = table[1](x) + 1 = 2x + 1
  (func (export "idle") (param $x i32) (result i32)
    (i32.add (call_indirect (type $unary) (local.get $x) (i32.const 1)) (i32.const 1)))
)
