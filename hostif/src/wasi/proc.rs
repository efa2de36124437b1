//! Process-level calls: exit and yielding the CPU.

use super::ctx::WasiState;
use crate::errno::Errno;
use faasm_runtime::Trap;

/// `proc_exit` does not return to the guest: it unwinds the whole wasm
/// call with an exit trap carrying the status, which the embedder turns
/// into the Faaslet's (or process's) exit code. Statuses above `i32::MAX`
/// keep their bits (read them back with `as u32`).
pub fn proc_exit(status: u32) -> Trap {
    Trap::exit(status as i32)
}

pub fn sched_yield(_st: &WasiState) -> Result<(), Errno> {
    std::thread::yield_now();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_carries_the_status() {
        assert_eq!(proc_exit(3).exit_status(), Some(3));
        assert_eq!(proc_exit(0).exit_status(), Some(0));
        assert_eq!(
            proc_exit(u32::MAX).exit_status().map(|s| s as u32),
            Some(u32::MAX)
        );
        assert_eq!(proc_exit(3).kind(), None);
    }
}
