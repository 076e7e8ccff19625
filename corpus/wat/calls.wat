;; calls.wat — direct calls between functions, recursion, mutual recursion and
;; tail calls. TurboFan emits WASM_CALL relocations (calls go through the
;; jump table) for every direct call below.
;; wat2wasm-flags: --enable-tail-call
(module
  ;; fib(n): naive doubly recursive Fibonacci, i32.
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_s (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else
        (i32.add
          (call $fib (i32.sub (local.get $n) (i32.const 1)))
          (call $fib (i32.sub (local.get $n) (i32.const 2)))))))

  ;; fact(n): recursive factorial, i64 (wraps modulo 2^64).
  (func $fact (export "fact") (param $n i64) (result i64)
    (if (result i64) (i64.le_s (local.get $n) (i64.const 1))
      (then (i64.const 1))
      (else
        (i64.mul (local.get $n)
                 (call $fact (i64.sub (local.get $n) (i64.const 1)))))))

  ;; is_even / is_odd: mutual recursion, 1 or 0.
  (func $is_even (export "is_even") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 1))
      (else (call $is_odd (i32.sub (local.get $n) (i32.const 1))))))
  (func $is_odd (export "is_odd") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (call $is_even (i32.sub (local.get $n) (i32.const 1))))))

  ;; sum_to(n): tail-recursive accumulate with return_call.
  (func $sum_acc (param $n i64) (param $acc i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (local.get $acc))
      (else
        (return_call $sum_acc
          (i64.sub (local.get $n) (i64.const 1))
          (i64.add (local.get $acc) (local.get $n))))))
  (func (export "sum_to") (param $n i64) (result i64)
    (return_call $sum_acc (local.get $n) (i64.const 0)))

  ;; ackermann(m, n): deep recursion with two call sites.
  (func $ack (export "ackermann") (param $m i32) (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $m))
      (then (i32.add (local.get $n) (i32.const 1)))
      (else
        (if (result i32) (i32.eqz (local.get $n))
          (then (call $ack (i32.sub (local.get $m) (i32.const 1)) (i32.const 1)))
          (else
            (call $ack (i32.sub (local.get $m) (i32.const 1))
                       (call $ack (local.get $m)
                                  (i32.sub (local.get $n) (i32.const 1)))))))))

  ;; mix(a, b, x): a chain of calls with mixed parameter types.
  (func $scale (param $x f64) (param $k i32) (result f64)
    (f64.mul (local.get $x) (f64.convert_i32_s (local.get $k))))
  (func (export "mix") (param $a i32) (param $b i64) (param $x f64) (result f64)
    (f64.add
      (call $scale (local.get $x) (local.get $a))
      (f64.convert_i64_s (call $fact (local.get $b)))))

  ;; recurse_forever: unbounded recursion; traps with a stack overflow.
  (func $forever (export "recurse_forever") (param $n i32) (result i32)
    (i32.add (i32.const 1) (call $forever (i32.add (local.get $n) (i32.const 1)))))
)
