;; The guest behind `faasm-run demo`, embedded in the binary as text.
;;
;;   faasm-run demo            prints "Hello, world!"
;;   faasm-run demo Faasm      prints "Hello, Faasm!"
;;   faasm-run --invoke add demo 2 40   prints 42
;;
;; Hand-written so that it needs no toolchain: it talks WASI preview 1
;; directly (args_sizes_get, args_get, fd_write, proc_exit).
(module
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit"
    (func $proc_exit (param i32)))

  ;; Layout of the single page:
  ;;   0..24     three iovecs {ptr, len}
  ;;   32        fd_write's byte count
  ;;   36, 40    argc and the size of the argument strings
  ;;   64.. 96   constant text
  ;;   256..1024 argv pointer array (room for 192 arguments)
  ;;   1024..    argument strings
  (memory (export "memory") 1)
  (data (i32.const 64) "Hello, ")
  (data (i32.const 80) "world")
  (data (i32.const 96) "!\n")

  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))

  (func $iovec (param $i i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.mul (local.get $i) (i32.const 8)) (local.get $ptr))
    (i32.store offset=4 (i32.mul (local.get $i) (i32.const 8)) (local.get $len)))

  (func (export "_start")
    (local $name i32)
    (local $len i32)
    (local.set $name (i32.const 80))
    (local.set $len (i32.const 5))
    ;; Greet argv[1] if there is one and the arguments fit our page.
    (if (i32.eqz (call $args_sizes_get (i32.const 36) (i32.const 40)))
      (then
        (if (i32.and
              (i32.and (i32.gt_u (i32.load (i32.const 36)) (i32.const 1))
                       (i32.le_u (i32.load (i32.const 36)) (i32.const 192)))
              (i32.le_u (i32.load (i32.const 40)) (i32.const 64512)))
          (then
            (if (i32.eqz (call $args_get (i32.const 256) (i32.const 1024)))
              (then
                (local.set $name (i32.load (i32.const 260)))
                (local.set $len (call $strlen (local.get $name)))))))))
    (call $iovec (i32.const 0) (i32.const 64) (i32.const 7))
    (call $iovec (i32.const 1) (local.get $name) (local.get $len))
    (call $iovec (i32.const 2) (i32.const 96) (i32.const 2))
    ;; Report a failed write through the exit status.
    (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 3) (i32.const 32))
      (then (call $proc_exit (i32.const 1)))))

  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
