;; One Adam step (Kingma & Ba 2015, Algorithm 1) over a weight tensor in float32, four weights at a
;; time with WebAssembly SIMD; the loop hostAdam.ts runs for every tensor each training step.
;; Compiled into adamKernel.wasm.ts by `npm run build:wasm` (adamKernel.test.ts checks they match).
;;
;; adam(w, g, m, v, n, stepSize, inverseCorrection2, decay, beta1, keep1, beta2, keep2, epsilon):
;; w, g, m, v are byte offsets of n float32 each in the exported memory, w, m and v updated in place:
;;   g' = g + decay * w                  (coupled L2 weight decay, as PyTorch's Adam)
;;   m  = beta1 * m + keep1 * g'         (keep1 = 1 - beta1, given: 1 - 0.999 in float32 is 1.3e-5 off)
;;   v  = beta2 * v + keep2 * g' * g'    (keep2 = 1 - beta2)
;;   w  = w - stepSize * m / (sqrt(v * inverseCorrection2) + epsilon)
;; where stepSize = lr / (1 - beta1^t) and inverseCorrection2 = 1 / (1 - beta2^t).
(module
  (memory (export "memory") 1)
  (func (export "adam")
    (param $w i32) (param $g i32) (param $m i32) (param $v i32) (param $n i32)
    (param $step f32) (param $ic2 f32) (param $decay f32)
    (param $b1 f32) (param $k1 f32) (param $b2 f32) (param $k2 f32) (param $eps f32)
    (local $i i32) (local $vectorEnd i32)
    (local $wv v128) (local $gv v128) (local $mv v128) (local $vv v128)
    (local $wj f32) (local $gj f32) (local $mj f32) (local $vj f32)
    ;; Byte offsets: i runs over bytes, 16 (four weights) at a time, then 4 for the tail.
    (local.set $n (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vectorEnd (i32.and (local.get $n) (i32.const -16)))
    (block $vectorDone
      (loop $vector
        (br_if $vectorDone (i32.ge_u (local.get $i) (local.get $vectorEnd)))
        (local.set $wv (v128.load (i32.add (local.get $w) (local.get $i))))
        (local.set $gv
          (f32x4.add
            (v128.load (i32.add (local.get $g) (local.get $i)))
            (f32x4.mul (f32x4.splat (local.get $decay)) (local.get $wv))))
        (local.set $mv
          (f32x4.add
            (f32x4.mul (f32x4.splat (local.get $b1)) (v128.load (i32.add (local.get $m) (local.get $i))))
            (f32x4.mul (f32x4.splat (local.get $k1)) (local.get $gv))))
        (local.set $vv
          (f32x4.add
            (f32x4.mul (f32x4.splat (local.get $b2)) (v128.load (i32.add (local.get $v) (local.get $i))))
            (f32x4.mul (f32x4.mul (f32x4.splat (local.get $k2)) (local.get $gv)) (local.get $gv))))
        (v128.store (i32.add (local.get $m) (local.get $i)) (local.get $mv))
        (v128.store (i32.add (local.get $v) (local.get $i)) (local.get $vv))
        (v128.store (i32.add (local.get $w) (local.get $i))
          (f32x4.sub
            (local.get $wv)
            (f32x4.div
              (f32x4.mul (f32x4.splat (local.get $step)) (local.get $mv))
              (f32x4.add
                (f32x4.sqrt (f32x4.mul (local.get $vv) (f32x4.splat (local.get $ic2))))
                (f32x4.splat (local.get $eps))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vector)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $wj (f32.load (i32.add (local.get $w) (local.get $i))))
        (local.set $gj
          (f32.add
            (f32.load (i32.add (local.get $g) (local.get $i)))
            (f32.mul (local.get $decay) (local.get $wj))))
        (local.set $mj
          (f32.add
            (f32.mul (local.get $b1) (f32.load (i32.add (local.get $m) (local.get $i))))
            (f32.mul (local.get $k1) (local.get $gj))))
        (local.set $vj
          (f32.add
            (f32.mul (local.get $b2) (f32.load (i32.add (local.get $v) (local.get $i))))
            (f32.mul (f32.mul (local.get $k2) (local.get $gj)) (local.get $gj))))
        (f32.store (i32.add (local.get $m) (local.get $i)) (local.get $mj))
        (f32.store (i32.add (local.get $v) (local.get $i)) (local.get $vj))
        (f32.store (i32.add (local.get $w) (local.get $i))
          (f32.sub
            (local.get $wj)
            (f32.div
              (f32.mul (local.get $step) (local.get $mj))
              (f32.add
                (f32.sqrt (f32.mul (local.get $vj) (local.get $ic2)))
                (local.get $eps)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail)))))
