//! Proto-Faaslets: a function's instance, initialised once, kept as a
//! snapshot that every call of the function starts from.
//!
//! - [`initialise`] makes the instance and runs its initialisation: the data
//!   and element segments and start function (instantiation), then the
//!   reactor's `_initialize` and an exported `faasm_init` (the C SDK's
//!   constructors and `FAASM_ZYGOTE`), each if present. What they leave is
//!   captured ([`faasm_runtime::Snapshot`]).
//! - [`encode`] / [`decode`] store a snapshot next to the function's
//!   artifact (`file.rs` has the format): versioned, checksummed, bound to
//!   the artifact it was taken from.
//! - Restoring is [`faasm_runtime::Linker::instantiate_snapshot`] (memory
//!   mapped copy-on-write from one shared image) and resetting a Faaslet
//!   between calls is [`faasm_runtime::Instance::reset`].

mod file;

pub use file::{SNAPSHOT_MAGIC, SNAPSHOT_VERSION, SnapshotError, decode, encode, fingerprint};

use faasm_runtime::{Error, Instance, InstanceOptions, Linker, Module, Snapshot};

/// The exports run, in order and when present, to initialise a function
/// before its snapshot is taken (and, without snapshots, before each call).
pub const INIT_EXPORTS: [&str; 2] = ["_initialize", "faasm_init"];

/// Runs `instance`'s initialisation exports ([`INIT_EXPORTS`]).
pub fn run_init(instance: &Instance) -> Result<(), Error> {
    for name in INIT_EXPORTS {
        if let Some(f) = instance.get_func(name) {
            f.call(&[])?;
        }
    }
    Ok(())
}

/// Instantiates `module` with `opts`, initialises it and captures it.
/// Initialisation errors (a trap, an exit) are returned as they are.
pub fn initialise(
    linker: &Linker,
    module: &Module,
    opts: InstanceOptions,
) -> Result<Snapshot, Error> {
    let instance = linker.instantiate_opts(module, opts)?;
    run_init(&instance)?;
    Snapshot::capture(&instance)
}
