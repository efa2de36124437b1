//! Everything that talks to the OS or the CPU directly: memory mappings,
//! executable code, the entry/landing assembly, signal handling and
//! per-thread stack facts. The rest of the runtime uses these safe-ish
//! wrappers.

pub mod backtrace;
pub mod code;
pub mod entry;
pub mod image;
pub mod mmap;
pub mod pagemap;
pub mod pool;
pub mod preempt;
pub mod signals;
pub mod stack;
