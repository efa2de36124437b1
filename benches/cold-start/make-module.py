#!/usr/bin/env python3
"""Writes the cold-start benchmark module (issue 7's first benchmark) as WAT:
8 MiB of memory, a 1 MiB data segment of non-zero bytes, an `init` export
that dirties 4 MiB of heap, and a no-op `noop` export.

    python3 benches/cold-start/make-module.py > /tmp/cold.wat
    faasm-run bench cold-start /tmp/cold.wat --init init --call noop
"""
import sys

data = "".join("\\%02x" % (1 + (i * 7) % 255) for i in range(1 << 20))
sys.stdout.write(f"""(module
  (memory (export "memory") 128 128)
  (data (i32.const 65536) "{data}")
  (func (export "init") (local $p i32)
    (local.set $p (i32.const 2097152))
    (loop $l
      (i32.store (local.get $p) (local.get $p))
      (local.set $p (i32.add (local.get $p) (i32.const 4096)))
      (br_if $l (i32.lt_u (local.get $p) (i32.const 6291456)))))
  (func (export "noop")))
""")
