//! Return addresses to wasm frames: what a trap's and a host call's
//! backtraces are made of. Below both the call path (`call.rs`) and the
//! host's view of its caller (`caller.rs`).

use crate::sys::backtrace::RawFrames;
use crate::{Backtrace, Frame};

/// The wasm functions at `pc` (an instruction, if any) and at the return
/// addresses `callers`; addresses outside wasm functions (trampolines,
/// the entry) are left out. Code inlined from another function
/// (`Artifact::inlined`) gives two frames: that function, then the one it
/// was inlined into.
pub(crate) fn resolve_frames(pc: Option<usize>, callers: &RawFrames) -> Backtrace {
    // A return address follows its call instruction, which may be the last
    // one of its function: look one byte back.
    let pcs = pc
        .into_iter()
        .chain(callers.pcs().iter().map(|r| r.wrapping_sub(1)));
    let mut frames = Vec::new();
    for pc in pcs {
        let Some(code) = crate::registry::lookup(pc) else {
            continue;
        };
        let Some(func_index) = code.func_index_at(pc) else {
            continue;
        };
        let frame = |func_index: u32, inlined: bool| Frame {
            func_index,
            func_name: code.artifact.info.func_name(func_index).map(str::to_string),
            inlined,
        };
        if let Some(inlined) = code.inlined_at(pc) {
            frames.push(frame(inlined, true));
        }
        frames.push(frame(func_index, false));
    }
    Backtrace {
        frames,
        truncated: callers.truncated(),
    }
}
