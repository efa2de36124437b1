//! What every Faaslet is given before its code runs, whether for a call
//! or to initialise a Proto-Faaslet: its WASI context and its watchdog.

use super::Shared;
use faasm_hostif::faasm::CallCtx;
use faasm_hostif::wasi::{OutputPipe, WasiCtx};
use faasm_runtime::InterruptHandle;
use std::time::Instant;

/// The WASI context of a Faaslet of `call`: `argv = [func]`, stdout into
/// `stdout`, stderr inherited, the user's filesystem as `/`.
pub(crate) fn wasi_ctx(
    shared: &Shared,
    call: &CallCtx,
    func: &str,
    stdout: &OutputPipe,
) -> Result<WasiCtx, String> {
    let fs = shared.filesystem(&call.user)?;
    let mut builder = WasiCtx::builder()
        .arg(func)
        .stdout_pipe(stdout.clone())
        .inherit_stderr()
        .preopen(&fs);
    // A guest asleep in poll_oneoff is in host code, which an interrupt
    // does not stop: the sleep itself must end at the deadline.
    if let Some(d) = call.deadline {
        builder = builder.deadline(d);
    }
    builder
        .build()
        .map_err(|e| format!("bad WASI configuration: {e}"))
}

/// Puts `handle` under the watchdog until `deadline` (interrupting at
/// once if it has passed); unwatched when the guard drops.
pub(crate) fn watch(
    shared: &Shared,
    deadline: Option<Instant>,
    handle: &InterruptHandle,
) -> Option<super::limits::Watch> {
    deadline.map(|d| {
        if d <= Instant::now() {
            handle.interrupt();
        }
        shared.watchdog.watch(d, handle.clone())
    })
}
