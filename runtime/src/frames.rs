//! Return addresses to wasm frames: what a trap's and a host call's
//! backtraces are made of. Below both the call path (`call.rs`) and the
//! host's view of its caller (`caller.rs`).

use crate::sys::backtrace::RawFrames;
use crate::{Backtrace, Frame};

/// The wasm functions at `pc` (an instruction, if any) and at the return
/// addresses `callers`; addresses outside wasm functions (trampolines,
/// the entry) are left out.
pub(crate) fn resolve_frames(pc: Option<usize>, callers: &RawFrames) -> Backtrace {
    // A return address follows its call instruction, which may be the last
    // one of its function: look one byte back.
    let pcs = pc
        .into_iter()
        .chain(callers.pcs().iter().map(|r| r.wrapping_sub(1)));
    let frames = pcs
        .filter_map(|pc| {
            let code = crate::registry::lookup(pc)?;
            let func_index = code.func_index_at(pc)?;
            Some(Frame {
                func_index,
                func_name: code.artifact.info.func_name(func_index).map(str::to_string),
            })
        })
        .collect();
    Backtrace {
        frames,
        truncated: callers.truncated(),
    }
}
