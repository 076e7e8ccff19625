;; memory.wat — loads and stores of every width, bounds-check trap paths,
;; memory.grow / memory.size (calls to the WasmMemoryGrow builtin) and bulk
;; memory (memory.fill / memory.copy / memory.init, which TurboFan lowers to
;; C calls through external references).
(module
  (memory (export "mem") 1 4)
  (data $hello (i32.const 16) "hello, wasmcache")
  (data $passive "0123456789abcdef")

  (func (export "load32") (param $a i32) (result i32)
    (i32.load (local.get $a)))
  (func (export "store32") (param $a i32) (param $v i32)
    (i32.store (local.get $a) (local.get $v)))
  (func (export "load8_u") (param $a i32) (result i32)
    (i32.load8_u (local.get $a)))
  (func (export "load8_s") (param $a i32) (result i32)
    (i32.load8_s (local.get $a)))
  (func (export "load16_u") (param $a i32) (result i32)
    (i32.load16_u offset=2 (local.get $a)))
  (func (export "load64") (param $a i32) (result i64)
    (i64.load (local.get $a)))
  (func (export "store64") (param $a i32) (param $v i64)
    (i64.store offset=8 (local.get $a) (local.get $v)))
  (func (export "loadf64") (param $a i32) (result f64)
    (f64.load (local.get $a)))
  (func (export "storef32") (param $a i32) (param $v f32)
    (f32.store (local.get $a) (local.get $v)))

  ;; roundtrip(a, v): store v at a, read it back as i32.
  (func (export "roundtrip") (param $a i32) (param $v i32) (result i32)
    (i32.store (local.get $a) (local.get $v))
    (i32.load (local.get $a)))

  ;; checksum(a, n): sum of n bytes from a (traps if out of bounds).
  (func (export "checksum") (param $a i32) (param $n i32) (result i32)
    (local $sum i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $sum
          (i32.add (i32.mul (local.get $sum) (i32.const 31))
                   (i32.load8_u (local.get $a))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $sum))

  ;; grow(d): memory.grow, returns the old size in pages or -1.
  (func (export "grow") (param $d i32) (result i32)
    (memory.grow (local.get $d)))
  (func (export "size") (result i32)
    (memory.size))

  ;; grow_and_touch(d): grow, then store to and load from the last byte.
  (func (export "grow_and_touch") (param $d i32) (result i32)
    (local $end i32)
    (drop (memory.grow (local.get $d)))
    (local.set $end (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 1)))
    (i32.store8 (local.get $end) (i32.const 0x5a))
    (i32.load8_u (local.get $end)))

  ;; fill(a, v, n) then checksum those bytes.
  (func (export "fill") (param $a i32) (param $v i32) (param $n i32) (result i32)
    (memory.fill (local.get $a) (local.get $v) (local.get $n))
    (i32.load8_u (local.get $a)))

  ;; copy(dst, src, n): memory.copy, returns the first copied byte at dst.
  (func (export "copy") (param $dst i32) (param $src i32) (param $n i32) (result i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $n))
    (i32.load8_u (local.get $dst)))

  ;; init(dst, off, n): memory.init from the passive segment.
  (func (export "init") (param $dst i32) (param $off i32) (param $n i32) (result i32)
    (memory.init $passive (local.get $dst) (local.get $off) (local.get $n))
    (i32.load8_u (local.get $dst)))
  (func (export "drop_passive")
    (data.drop $passive))
)
