;; br_table.wat — dense switches. TurboFan lowers a br_table with many
;; targets to a jump table embedded in the code, whose entries are
;; INTERNAL_REFERENCE relocations (absolute addresses inside the function).
(module
  ;; switch10(x): ten cases and a default.
  (func (export "switch10") (param $x i32) (result i32)
    (block $default
      (block $c9 (block $c8 (block $c7 (block $c6 (block $c5
      (block $c4 (block $c3 (block $c2 (block $c1 (block $c0
        (br_table $c0 $c1 $c2 $c3 $c4 $c5 $c6 $c7 $c8 $c9 $default
                  (local.get $x)))
        (return (i32.const 100)))
        (return (i32.const 211)))
        (return (i32.const 322)))
        (return (i32.mul (local.get $x) (i32.const 433))))
        (return (i32.const 544)))
        (return (i32.xor (local.get $x) (i32.const 655))))
        (return (i32.const 766)))
        (return (i32.const 877)))
        (return (i32.add (local.get $x) (i32.const 988))))
        (return (i32.const 1099)))
    (i32.const -1))

  ;; switch16(x, y): sixteen cases on i64 results, inside a loop that also
  ;; runs the switch once per iteration (two br_tables in one function).
  (func (export "switch16") (param $x i32) (param $y i64) (result i64)
    (local $acc i64)
    (local $i i32)
    (loop $next
      (block $out
        (block $d
        (block $k15 (block $k14 (block $k13 (block $k12
        (block $k11 (block $k10 (block $k9 (block $k8
        (block $k7 (block $k6 (block $k5 (block $k4
        (block $k3 (block $k2 (block $k1 (block $k0
          (br_table $k0 $k1 $k2 $k3 $k4 $k5 $k6 $k7
                    $k8 $k9 $k10 $k11 $k12 $k13 $k14 $k15 $d
                    (i32.and (i32.add (local.get $x) (local.get $i)) (i32.const 31))))
          (local.set $acc (i64.add (local.get $acc) (i64.const 1))) (br $out))
          (local.set $acc (i64.add (local.get $acc) (local.get $y))) (br $out))
          (local.set $acc (i64.mul (local.get $acc) (i64.const 3))) (br $out))
          (local.set $acc (i64.sub (local.get $acc) (i64.const 7))) (br $out))
          (local.set $acc (i64.xor (local.get $acc) (local.get $y))) (br $out))
          (local.set $acc (i64.shl (local.get $acc) (i64.const 1))) (br $out))
          (local.set $acc (i64.rotl (local.get $acc) (i64.const 5))) (br $out))
          (local.set $acc (i64.add (local.get $acc) (i64.const 1000))) (br $out))
          (local.set $acc (i64.or (local.get $acc) (i64.const 256))) (br $out))
          (local.set $acc (i64.and (local.get $acc) (i64.const 0xffff))) (br $out))
          (local.set $acc (i64.shr_s (local.get $acc) (i64.const 2))) (br $out))
          (local.set $acc (i64.sub (local.get $y) (local.get $acc))) (br $out))
          (local.set $acc (i64.mul (local.get $acc) (local.get $acc))) (br $out))
          (local.set $acc (i64.add (local.get $acc) (i64.const 42))) (br $out))
          (local.set $acc (i64.popcnt (local.get $acc))) (br $out))
          (local.set $acc (i64.clz (local.get $acc))) (br $out))
        ;; default: small constant
        (local.set $acc (i64.add (local.get $acc) (i64.const -5))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 20))))
    (local.get $acc))

  ;; day_kind(d): br_table with repeated targets (8 entries, 3 targets).
  (func (export "day_kind") (param $d i32) (result i32)
    (block $invalid
      (block $weekend
        (block $weekday
          (br_table $weekday $weekday $weekday $weekday $weekday
                    $weekend $weekend $invalid
                    (local.get $d)))
        (return (i32.const 1)))
      (return (i32.const 2)))
    (i32.const 0))
)
