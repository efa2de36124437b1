//! Runtime helpers that compiled code calls through the table at
//! `vmctx + VMOffsets::BUILTINS`. Each is `extern "C"` and takes the
//! caller's vmctx first. Helpers that can fail return a non-zero `u32`
//! and the compiled code traps with the kind the operation implies.

/// Parameter or result kinds of a builtin (after the leading vmctx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinParam {
    I32,
    I64,
}

macro_rules! builtins {
    ($( $(#[$doc:meta])* $name:ident = $fn:ident ( $($p:ident),* ) -> $ret:tt ; )*) => {
        /// A runtime helper; the discriminant is its slot in the table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u32)]
        pub enum Builtin { $( $(#[$doc])* $name ),* }

        impl Builtin {
            pub const ALL: &'static [Builtin] = &[$(Builtin::$name),*];

            pub fn name(self) -> &'static str {
                match self { $(Builtin::$name => stringify!($fn)),* }
            }

            pub fn params(self) -> &'static [BuiltinParam] {
                match self { $(Builtin::$name => &[$(BuiltinParam::$p),*]),* }
            }

            pub fn result(self) -> Option<BuiltinParam> {
                match self { $(Builtin::$name => builtins!(@ret $ret)),* }
            }
        }
    };
    (@ret none) => { None };
    (@ret $t:ident) => { Some(BuiltinParam::$t) };
}

builtins! {
    /// (mem, delta_pages) -> old pages or -1
    MemoryGrow = memory_grow(I32, I64) -> I64;
    /// (dst, byte, len): `memory.fill` over native addresses the compiled
    /// code has already checked (bounds in line, only the bytes here)
    MemoryFill = memory_fill(I64, I32, I64) -> none;
    /// (dst, src, len): `memory.copy` (overlap allowed) over native
    /// addresses the compiled code has already checked
    MemoryCopy = memory_copy(I64, I64, I64) -> none;
    /// (mem, segment, dst, src, len) -> 0 or failure
    MemoryInit = memory_init(I32, I32, I64, I32, I32) -> I32;
    /// (segment)
    DataDrop = data_drop(I32) -> none;
    /// (table, init_value, delta) -> old size or -1
    TableGrow = table_grow(I32, I64, I32) -> I32;
    /// (table, dst, value, len) -> 0 or failure
    TableFill = table_fill(I32, I32, I64, I32) -> I32;
    /// (dst_table, src_table, dst, src, len) -> 0 or failure
    TableCopy = table_copy(I32, I32, I32, I32, I32) -> I32;
    /// (table, segment, dst, src, len) -> 0 or failure
    TableInit = table_init(I32, I32, I32, I32, I32) -> I32;
    /// (segment)
    ElemDrop = elem_drop(I32) -> none;
    /// (mem, addr, count) -> waiters woken, or `-(TrapKind as i64)`
    MemoryAtomicNotify = memory_atomic_notify(I32, I64, I32) -> I64;
    /// (mem, addr, expected, timeout_ns) -> 0 woken, 1 not equal, 2 timed
    /// out, or `-(TrapKind as i64)`; a negative timeout waits forever
    MemoryAtomicWait32 = memory_atomic_wait32(I32, I64, I32, I64) -> I64;
    /// as `MemoryAtomicWait32` with a 64-bit expected value
    MemoryAtomicWait64 = memory_atomic_wait64(I32, I64, I64, I64) -> I64;
}
