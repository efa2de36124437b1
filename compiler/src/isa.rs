//! The Cranelift target: the host's ISA with the features our code needs.

/// Target triple plus the CPU features compiled code relies on; recorded in
/// artifacts so a machine without them refuses to load the code.
pub fn host_target() -> String {
    todo!()
}
