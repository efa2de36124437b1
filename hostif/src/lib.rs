//! The Faaslet host interface: what a guest can ask of the host.
//!
//! - [`wasi`]: WASI preview 1 (`wasi_snapshot_preview1`), enough for
//!   ordinary C and Rust programs to start, read arguments and environment,
//!   print, read the clocks and exit.
//! - [`memory`]: checked access to guest memory, used by every host call.
//! - [`errno`]: WASI error numbers.
//! - [`faasm`]: Faasm's own calls (`env.__faasm_*`): input/output,
//!   chaining, state.

// The public API is what embedders build on: every item says what it is.
#![warn(missing_docs)]

pub mod errno;
pub mod faasm;
mod host;
pub mod memory;
pub mod threads;
pub mod wasi;

pub use errno::Errno;
pub use host::HostCtx;
pub use memory::GuestMemory;
