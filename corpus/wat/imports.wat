;; imports.wat — calls to JS functions imported from module "env", directly
;; and through a table. Import calls go through the instance's import
;; dispatch table (no direct code relocation), the table path through
;; call_indirect.
;;
;; The harness (tools/v8/load.cjs) provides deterministic stubs:
;;   env.add(a: i32, b: i32) -> i32  = (a + b) | 0
;;   env.mul(a: f64, b: f64) -> f64  = a * b
;;   env.tick() -> i32               = 1, 2, 3, ... (one counter per instance)
;;   env.big(x: i64) -> i64          = BigInt.asIntN(64, 3n * x + 1n)
(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (import "env" "mul" (func $mul (param f64 f64) (result f64)))
  (import "env" "tick" (func $tick (result i32)))
  (import "env" "big" (func $big (param i64) (result i64)))

  (type $binary (func (param i32 i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $add $local_sub)
  (func $local_sub (type $binary) (i32.sub (local.get 0) (local.get 1)))

  ;; add3(a, b, c) = add(add(a, b), c)
  (func (export "add3") (param $a i32) (param $b i32) (param $c i32) (result i32)
    (call $add (call $add (local.get $a) (local.get $b)) (local.get $c)))

  ;; area(w, h) = mul(w, h) + 1
  (func (export "area") (param $w f64) (param $h f64) (result f64)
    (f64.add (call $mul (local.get $w) (local.get $h)) (f64.const 1)))

  ;; ticks(n): calls tick n times, returns the sum of the values.
  (func (export "ticks") (param $n i32) (result i32)
    (local $sum i32)
    (block $done
      (loop $next
        (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $sum (i32.add (local.get $sum) (call $tick)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $sum))

  ;; collatz_big(x): big applied twice (i64 across the JS boundary).
  (func (export "big2") (param $x i64) (result i64)
    (call $big (call $big (local.get $x))))

  ;; via_table(i, a, b): table[i](a, b); slot 0 is the import, 1 is local.
  (func (export "via_table") (param $i i32) (param $a i32) (param $b i32) (result i32)
    (call_indirect (type $binary) (local.get $a) (local.get $b) (local.get $i)))
)
