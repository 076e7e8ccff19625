;; math.wat — integer division (trap paths: divide by zero, overflow),
;; float rounding, float<->int conversions (trapping and saturating), and
;; float loops. On some targets (ia32, arm, mips, riscv32, or CPUs without
;; SSE4.1) several of these become C calls through external references;
;; on x64 and arm64 most are inline.
(module
  (func (export "div_s") (param $a i64) (param $b i64) (result i64)
    (i64.div_s (local.get $a) (local.get $b)))
  (func (export "div_u") (param $a i64) (param $b i64) (result i64)
    (i64.div_u (local.get $a) (local.get $b)))
  (func (export "rem_s") (param $a i64) (param $b i64) (result i64)
    (i64.rem_s (local.get $a) (local.get $b)))
  (func (export "rem_u") (param $a i64) (param $b i64) (result i64)
    (i64.rem_u (local.get $a) (local.get $b)))
  (func (export "div32_s") (param $a i32) (param $b i32) (result i32)
    (i32.div_s (local.get $a) (local.get $b)))

  (func (export "floor") (param $x f64) (result f64) (f64.floor (local.get $x)))
  (func (export "ceil") (param $x f64) (result f64) (f64.ceil (local.get $x)))
  (func (export "trunc") (param $x f64) (result f64) (f64.trunc (local.get $x)))
  (func (export "nearest") (param $x f64) (result f64) (f64.nearest (local.get $x)))
  (func (export "floorf") (param $x f32) (result f32) (f32.floor (local.get $x)))
  (func (export "nearestf") (param $x f32) (result f32) (f32.nearest (local.get $x)))
  (func (export "sqrt") (param $x f64) (result f64) (f64.sqrt (local.get $x)))
  (func (export "minmax") (param $a f64) (param $b f64) (result f64)
    (f64.sub (f64.max (local.get $a) (local.get $b))
             (f64.min (local.get $a) (local.get $b))))
  (func (export "copysign") (param $a f64) (param $b f64) (result f64)
    (f64.copysign (local.get $a) (local.get $b)))

  ;; f32 <-> f64
  (func (export "demote_promote") (param $x f64) (result f64)
    (f64.promote_f32 (f32.demote_f64 (local.get $x))))

  ;; i64 <-> f64 / f32 (unsigned forms need extra code on x64)
  (func (export "i64_to_f64_s") (param $x i64) (result f64) (f64.convert_i64_s (local.get $x)))
  (func (export "i64_to_f64_u") (param $x i64) (result f64) (f64.convert_i64_u (local.get $x)))
  (func (export "i64_to_f32_u") (param $x i64) (result f32) (f32.convert_i64_u (local.get $x)))
  (func (export "f64_to_i64_s") (param $x f64) (result i64) (i64.trunc_f64_s (local.get $x)))
  (func (export "f64_to_i64_u") (param $x f64) (result i64) (i64.trunc_f64_u (local.get $x)))
  (func (export "f32_to_i64_u") (param $x f32) (result i64) (i64.trunc_f32_u (local.get $x)))
  (func (export "f64_to_i32_s") (param $x f64) (result i32) (i32.trunc_f64_s (local.get $x)))
  (func (export "sat_f64_to_i64_u") (param $x f64) (result i64) (i64.trunc_sat_f64_u (local.get $x)))
  (func (export "sat_f64_to_i32_s") (param $x f64) (result i32) (i32.trunc_sat_f64_s (local.get $x)))
  (func (export "reinterpret") (param $x f64) (result i64) (i64.reinterpret_f64 (local.get $x)))

  ;; pow(x, n): x^n by repeated squaring (integer exponent n >= 0).
  (func (export "pow") (param $x f64) (param $n i32) (result f64)
    (local $r f64)
    (local.set $r (f64.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (if (i32.and (local.get $n) (i32.const 1))
          (then (local.set $r (f64.mul (local.get $r) (local.get $x)))))
        (local.set $x (f64.mul (local.get $x) (local.get $x)))
        (local.set $n (i32.shr_u (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $r))

  ;; harmonic(n): sum of 1/k for k = 1..n in f64, with i64 loop counter.
  (func (export "harmonic") (param $n i64) (result f64)
    (local $k i64)
    (local $s f64)
    (local.set $k (i64.const 1))
    (block $done
      (loop $next
        (br_if $done (i64.gt_s (local.get $k) (local.get $n)))
        (local.set $s (f64.add (local.get $s)
                               (f64.div (f64.const 1) (f64.convert_i64_s (local.get $k)))))
        (local.set $k (i64.add (local.get $k) (i64.const 1)))
        (br $next)))
    (local.get $s))

  ;; mulhi_u(a, b): upper 64 bits of the 128-bit unsigned product, built
  ;; from 32-bit halves (lots of i64 arithmetic).
  (func (export "mulhi_u") (param $a i64) (param $b i64) (result i64)
    (local $al i64) (local $ah i64) (local $bl i64) (local $bh i64)
    (local $t i64) (local $w1 i64) (local $w2 i64)
    (local.set $al (i64.and (local.get $a) (i64.const 0xffffffff)))
    (local.set $ah (i64.shr_u (local.get $a) (i64.const 32)))
    (local.set $bl (i64.and (local.get $b) (i64.const 0xffffffff)))
    (local.set $bh (i64.shr_u (local.get $b) (i64.const 32)))
    (local.set $t (i64.add (i64.mul (local.get $ah) (local.get $bl))
                           (i64.shr_u (i64.mul (local.get $al) (local.get $bl)) (i64.const 32))))
    (local.set $w1 (i64.and (local.get $t) (i64.const 0xffffffff)))
    (local.set $w2 (i64.shr_u (local.get $t) (i64.const 32)))
    (local.set $w1 (i64.add (local.get $w1) (i64.mul (local.get $al) (local.get $bh))))
    (i64.add (i64.add (i64.mul (local.get $ah) (local.get $bh)) (local.get $w2))
             (i64.shr_u (local.get $w1) (i64.const 32))))
)
