;; call_indirect.wat — a table of functions of three signatures, reached by
;; call_indirect. Exercises signature checks (canonical type ids), the
;; "indirect call signature mismatch", "table index out of bounds" and
;; "null function" trap paths.
(module
  (type $unary (func (param i32) (result i32)))
  (type $binary (func (param i32 i32) (result i32)))
  (type $real (func (param f64) (result f64)))

  (table 8 funcref)
  ;; slots 0..5 filled, 6..7 stay null
  (elem (i32.const 0) $inc $double $add $sub $half $square)

  (func $inc (type $unary) (i32.add (local.get 0) (i32.const 1)))
  (func $double (type $unary) (i32.shl (local.get 0) (i32.const 1)))
  (func $add (type $binary) (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $binary) (i32.sub (local.get 0) (local.get 1)))
  (func $half (type $real) (f64.mul (local.get 0) (f64.const 0.5)))
  (func $square (type $real) (f64.mul (local.get 0) (local.get 0)))

  ;; apply1(i, x) = table[i](x) as (i32)->i32
  (func (export "apply1") (param $i i32) (param $x i32) (result i32)
    (call_indirect (type $unary) (local.get $x) (local.get $i)))

  ;; apply2(i, a, b) = table[i](a, b) as (i32, i32)->i32
  (func (export "apply2") (param $i i32) (param $a i32) (param $b i32) (result i32)
    (call_indirect (type $binary) (local.get $a) (local.get $b) (local.get $i)))

  ;; applyf(i, x) = table[i](x) as (f64)->f64
  (func (export "applyf") (param $i i32) (param $x f64) (result f64)
    (call_indirect (type $real) (local.get $x) (local.get $i)))

  ;; compose(x): unary slots 0 and 1 applied in turn, then a binary slot.
  (func (export "compose") (param $x i32) (result i32)
    (call_indirect (type $binary)
      (call_indirect (type $unary) (local.get $x) (i32.const 0))
      (call_indirect (type $unary) (local.get $x) (i32.const 1))
      (i32.const 2)))
)
