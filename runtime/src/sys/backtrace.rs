//! Walking the frame-pointer chain of compiled wasm code.
//!
//! The compiler keeps frame pointers in every function and trampoline
//! (`preserve_frame_pointers`), so each frame begins with a two-word record:
//! the caller's frame pointer, then the return address into the caller.
//! Starting from the frame pointer of the innermost wasm or trampoline
//! frame, the walk follows these records up to the stack pointer that the
//! innermost host→wasm entry (`faasm_enter`) saved: every frame below that
//! point was pushed by compiled code on this thread's stack.
//!
//! The walk allocates nothing, takes no lock and reads only that stretch
//! of the stack, so the signal handler may run it. Turning the addresses
//! into wasm functions happens later, outside the handler.

/// Frames kept per backtrace; deeper stacks keep their innermost frames.
pub const MAX_FRAMES: usize = 32;

/// Return addresses of a walk, innermost first.
#[derive(Clone, Copy, Debug)]
pub struct RawFrames {
    pcs: [usize; MAX_FRAMES],
    len: usize,
    /// The stack held more frames than were kept.
    truncated: bool,
}

impl RawFrames {
    pub const EMPTY: RawFrames = RawFrames {
        pcs: [0; MAX_FRAMES],
        len: 0,
        truncated: false,
    };

    /// Adds a return address; false once full.
    pub fn push(&mut self, pc: usize) -> bool {
        if self.len == MAX_FRAMES {
            self.truncated = true;
            return false;
        }
        self.pcs[self.len] = pc;
        self.len += 1;
        true
    }

    pub fn pcs(&self) -> &[usize] {
        &self.pcs[..self.len]
    }

    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

/// Collects the return addresses of the frame chain starting at `fp` into
/// `out`, stopping below `stop`. Each record must lie wholly inside
/// `[low, stop)`, and frame pointers must strictly increase, so a damaged
/// chain ends the walk instead of leading it elsewhere.
///
/// # Safety
/// `[low, stop)` must be readable stack memory of the calling thread (the
/// stretch between a wasm frame's stack pointer and the innermost entry's
/// saved stack pointer).
pub unsafe fn walk(mut fp: usize, low: usize, stop: usize, out: &mut RawFrames) {
    const RECORD: usize = 2 * std::mem::size_of::<usize>();
    while fp >= low && fp.is_multiple_of(std::mem::align_of::<usize>()) && fp < stop {
        if stop - fp < RECORD {
            break;
        }
        let record = fp as *const usize;
        // SAFETY: the record lies inside `[low, stop)`, readable per the
        // contract, and is aligned (checked above).
        let (next, ret) = unsafe { (record.read(), record.add(1).read()) };
        if !out.push(ret) || next <= fp {
            break;
        }
        fp = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake stack of frame records: each record points at the next one
    /// up, the last one at something above `stop`.
    #[test]
    fn walks_a_chain_and_stops_at_the_entry() {
        let mut stack = [0usize; 12];
        let base = stack.as_ptr() as usize;
        let at = |i: usize| base + i * 8;
        // Records at words 0, 4 and 8; return addresses 100, 200, 300.
        stack[0] = at(4);
        stack[1] = 100;
        stack[4] = at(8);
        stack[5] = 200;
        stack[8] = at(11) + 64; // above `stop`: the entry's own frame
        stack[9] = 300;
        // The walk reads the array through addresses, unseen by the compiler.
        std::hint::black_box(&stack);
        let mut out = RawFrames::EMPTY;
        // SAFETY: the whole array is readable.
        unsafe { walk(at(0), at(0), at(12), &mut out) };
        assert_eq!(out.pcs(), &[100, 200, 300]);
        assert!(!out.truncated());
    }

    #[test]
    fn a_chain_that_loops_or_runs_down_ends_the_walk() {
        let mut stack = [0usize; 8];
        let base = stack.as_ptr() as usize;
        stack[0] = base; // points at itself
        stack[1] = 7;
        std::hint::black_box(&stack);
        let mut out = RawFrames::EMPTY;
        // SAFETY: the whole array is readable.
        unsafe { walk(base, base, base + 64, &mut out) };
        assert_eq!(out.pcs(), &[7]);

        // A start outside the range reads nothing.
        let mut out = RawFrames::EMPTY;
        // SAFETY: nothing is read.
        unsafe { walk(base + 64, base, base + 64, &mut out) };
        assert!(out.pcs().is_empty());
    }

    #[test]
    fn deep_chains_keep_the_innermost_frames() {
        let mut stack = [0usize; 2 * (MAX_FRAMES + 4)];
        let base = stack.as_ptr() as usize;
        for i in 0..MAX_FRAMES + 4 {
            stack[2 * i] = base + (2 * i + 2) * 8;
            stack[2 * i + 1] = 1000 + i;
        }
        std::hint::black_box(&stack);
        let mut out = RawFrames::EMPTY;
        let stop = base + stack.len() * 8;
        // SAFETY: the whole array is readable.
        unsafe { walk(base, base, stop, &mut out) };
        assert_eq!(out.pcs().len(), MAX_FRAMES);
        assert_eq!(out.pcs()[0], 1000);
        assert!(out.truncated());
    }
}
