//! Chaining: `__faasm_chain_name`, `__faasm_chain_ptr`, `__faasm_await_call`,
//! `__faasm_await_call_output` (Faasm's: the host places the output in
//! guest memory), `__faasm_await_call_output_buffer` and
//! `__faasm_get_call_output_size` (ours: the guest brings the buffer).
//!
//! hostif sits below the executor, so the actual queueing and waiting is
//! behind the [`Chainer`] trait the executor implements; the functions
//! here only check and copy guest memory and translate the outcome into
//! the ABI's return values.

use super::FaasmError;
use super::guest::{read_cstr, slice, slice_mut};
use super::ptr::RegionMemory;
use crate::memory::GuestMemory;
use faasm_runtime::{Caller, HostCharge};
use std::sync::Arc;
use std::time::Instant;

/// A call's id: unique per executor, never 0 (the guest sees it as an i32).
pub type CallId = u32;

/// Who is calling: what host functions need to know about their Faaslet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCtx {
    /// This call's id, unique per executor.
    pub id: CallId,
    /// The user the function belongs to; chained calls stay within it.
    pub user: String,
    /// The function's name within its user.
    pub function: String,
    /// When the call's wall-clock budget runs out: host calls that block
    /// (awaits, state locks) give up then instead of outliving it.
    pub deadline: Option<Instant>,
}

impl CallCtx {
    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// What a chained call runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainTarget {
    /// Another function of the caller's user (`chain_name`).
    Name(String),
    /// Entry `index` of table 0 of the caller's own module (`chain_ptr`).
    TableIndex(u32),
}

/// How a finished call ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallResult {
    /// The guest's exit status (1 when the executor failed the call).
    pub return_code: i32,
    /// What the call set as its output (or printed on stdout); for a
    /// failed call, the executor's message.
    pub output: Vec<u8>,
    /// The executor failed the call (trap, timeout, unknown function...):
    /// `output` is the message. Guests only see the return code (1).
    pub failed: bool,
    /// For a failed call, what the guest had printed (or set as its output)
    /// before it failed, so that a trap's cause can be read next to it;
    /// empty otherwise.
    pub printed: Vec<u8>,
    /// The call failed because its deadline passed (an embedder reports
    /// that differently from a trap, e.g. HTTP 504 rather than 500).
    pub timed_out: bool,
    /// The ids of the calls it chained, in the order it made them (its
    /// embedder may show them; the guest has them already).
    pub chained: Vec<CallId>,
}

/// What waiting for a call gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Awaited {
    /// The call finished this way.
    Done(Arc<CallResult>),
    /// The id is unknown or was created by another call.
    Foreign,
    /// The caller's deadline passed first.
    DeadlinePassed,
}

/// Why a chained call was refused (the chaining guest traps).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The user's calls not yet collected reached the executor's limit.
    #[error("user {user:?} holds too many chained calls (limit {limit})")]
    TooManyRecords {
        /// The caller's user.
        user: String,
        /// The executor's limit on a user's call records.
        limit: usize,
    },
    /// The chained call's input is larger than a call's input may be.
    #[error("input of {len} bytes is over the limit of {limit} bytes")]
    InputTooLarge {
        /// The input's length.
        len: usize,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The caller's memory budget cannot hold the input as well.
    #[error(
        "input of {len} bytes would take the caller past its memory limit of {limit} bytes \
         (inputs of calls it made count until they end)"
    )]
    OverMemoryLimit {
        /// The input's length.
        len: usize,
        /// The caller's memory limit, in bytes.
        limit: u64,
    },
}

/// The executor side of chaining.
pub trait Chainer: Send + Sync {
    /// Queues a call made by `caller` and returns its id at once. A call
    /// that cannot run (unknown function, full queue...) still gets an id
    /// and fails when awaited; only a call the caller may not make at all
    /// (over its user's record limit, input too large) is an error.
    /// `held` charges the input to the caller's memory budget: keep it
    /// as long as the input is held, until the chained call ends.
    fn chain(
        &self,
        caller: &CallCtx,
        target: ChainTarget,
        input: Vec<u8>,
        held: HostCharge,
    ) -> Result<CallId, ChainError>;

    /// Blocks until call `id` (one `caller` made) finishes.
    fn await_call(&self, caller: &CallCtx, id: CallId) -> Awaited;

    /// Runs `wait`, which blocks this thread (e.g. on a state lock), in a
    /// way that does not starve the executor of workers. The default just
    /// runs it.
    fn blocking(&self, wait: &mut dyn FnMut()) {
        wait()
    }
}

/// A copy of the chained call's input (bounded by the guest's memory, so
/// at most 4 GiB; the caller's own memory limit bounds it further).
fn input_of(
    mem: &GuestMemory<'_>,
    call: &'static str,
    ptr: u32,
    len: u32,
) -> Result<Vec<u8>, FaasmError> {
    Ok(slice(mem, call, "input buffer", ptr, len)?.to_vec())
}

/// Charges a chained call's input of `len` bytes to the calling instance
/// (`c`) for as long as the host holds it.
pub(crate) fn hold_input(
    c: &Caller<'_>,
    call: &'static str,
    len: u32,
) -> Result<HostCharge, FaasmError> {
    c.charge_host_bytes(u64::from(len))
        .map_err(|over| FaasmError::Chain {
            call,
            source: ChainError::OverMemoryLimit {
                len: len as usize,
                limit: over.limit,
            },
        })
}

pub(crate) fn chain_name(
    chainer: &dyn Chainer,
    caller: &CallCtx,
    mem: &GuestMemory<'_>,
    name: u32,
    input: u32,
    len: u32,
    held: HostCharge,
) -> Result<i32, FaasmError> {
    const CALL: &str = "__faasm_chain_name";
    let name = read_cstr(mem, CALL, "function name", name)?;
    if name.is_empty() || name.contains('/') {
        return Err(FaasmError::BadFunctionName { call: CALL, name });
    }
    let input = input_of(mem, CALL, input, len)?;
    chainer
        .chain(caller, ChainTarget::Name(name), input, held)
        .map(|id| id as i32)
        .map_err(|source| FaasmError::Chain { call: CALL, source })
}

pub(crate) fn chain_ptr(
    chainer: &dyn Chainer,
    caller: &CallCtx,
    mem: &GuestMemory<'_>,
    func: u32,
    input: u32,
    len: u32,
    held: HostCharge,
) -> Result<i32, FaasmError> {
    const CALL: &str = "__faasm_chain_ptr";
    let input = input_of(mem, CALL, input, len)?;
    chainer
        .chain(caller, ChainTarget::TableIndex(func), input, held)
        .map(|id| id as i32)
        .map_err(|source| FaasmError::Chain { call: CALL, source })
}

fn wait(
    chainer: &dyn Chainer,
    caller: &CallCtx,
    call: &'static str,
    id: u32,
) -> Result<Option<Arc<CallResult>>, FaasmError> {
    if id == 0 {
        return Ok(None);
    }
    match chainer.await_call(caller, id) {
        Awaited::Done(r) => Ok(Some(r)),
        Awaited::Foreign => Ok(None),
        Awaited::DeadlinePassed => Err(FaasmError::DeadlinePassed { call }),
    }
}

pub(crate) fn await_call(
    chainer: &dyn Chainer,
    caller: &CallCtx,
    id: u32,
) -> Result<i32, FaasmError> {
    Ok(wait(chainer, caller, "__faasm_await_call", id)?.map_or(-1, |r| r.return_code))
}

/// `__faasm_await_call_output_buffer(id, buf, len)`: waits, then copies
/// `min(len, size)` bytes of the output to `buf`.
pub(crate) fn await_call_output_buffer(
    chainer: &dyn Chainer,
    caller: &CallCtx,
    mem: &mut GuestMemory<'_>,
    id: u32,
    buf: u32,
    len: u32,
) -> Result<i32, FaasmError> {
    const CALL: &str = "__faasm_await_call_output_buffer";
    // Check the buffer first: a bad one traps without waiting.
    slice(mem, CALL, "output buffer", buf, len)?;
    let Some(result) = wait(chainer, caller, CALL, id)? else {
        return Ok(-1);
    };
    let n = result.output.len().min(len as usize);
    slice_mut(mem, CALL, "output buffer", buf, n as u32)?.copy_from_slice(&result.output[..n]);
    Ok(result.return_code)
}

/// `__faasm_await_call_output(id, char **out, int *out_len)`, Faasm's
/// meaning: waits, then puts the whole output in memory the host takes
/// for it (`alloc(len)`: fresh pages, as `mmap` hands out) and stores its
/// address and length at `out` and `out_len`. An empty output stores
/// address 0. A foreign id: -1 and nothing stored.
pub(crate) fn await_call_output(
    chainer: &dyn Chainer,
    caller: &CallCtx,
    mem: &mut dyn RegionMemory,
    alloc: &mut dyn FnMut(&mut dyn RegionMemory, u32) -> Result<u32, FaasmError>,
    id: u32,
    out: u32,
    out_len: u32,
) -> Result<i32, FaasmError> {
    const CALL: &str = "__faasm_await_call_output";
    {
        // Both slots are checked first: a bad one traps without waiting.
        let g = GuestMemory::new(mem.bytes());
        slice(&g, CALL, "output pointer", out, 4)?;
        slice(&g, CALL, "output length", out_len, 4)?;
    }
    let Some(result) = wait(chainer, caller, CALL, id)? else {
        return Ok(-1);
    };
    // Outputs are bounded by the output limit, far below 4 GiB.
    let len = u32::try_from(result.output.len()).map_err(|_| FaasmError::Grow {
        call: CALL,
        pages: result.output.len() as u64 >> 16,
    })?;
    let addr = if len == 0 { 0 } else { alloc(mem, len)? };
    let mut g = GuestMemory::new(mem.bytes());
    slice_mut(&mut g, CALL, "output copy", addr, len)?.copy_from_slice(&result.output);
    slice_mut(&mut g, CALL, "output pointer", out, 4)?.copy_from_slice(&addr.to_le_bytes());
    slice_mut(&mut g, CALL, "output length", out_len, 4)?.copy_from_slice(&len.to_le_bytes());
    Ok(result.return_code)
}

pub(crate) fn get_call_output_size(
    chainer: &dyn Chainer,
    caller: &CallCtx,
    id: u32,
) -> Result<i32, FaasmError> {
    let r = wait(chainer, caller, "__faasm_get_call_output_size", id)?;
    Ok(r.map_or(-1, |r| i32::try_from(r.output.len()).unwrap_or(i32::MAX)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// Records chained calls; each "finishes" with return code = its id and
    /// output = its input reversed. Calls belong to the caller id that made
    /// them.
    #[derive(Default)]
    pub struct FakeChainer {
        pub calls: Mutex<Vec<(CallId, ChainTarget, Vec<u8>)>>,
        owners: Mutex<HashMap<CallId, CallId>>,
    }

    impl Chainer for FakeChainer {
        fn chain(
            &self,
            caller: &CallCtx,
            target: ChainTarget,
            input: Vec<u8>,
            _held: HostCharge,
        ) -> Result<CallId, ChainError> {
            let mut calls = self.calls.lock().unwrap();
            let id = calls.len() as CallId + 100;
            calls.push((id, target, input));
            self.owners.lock().unwrap().insert(id, caller.id);
            Ok(id)
        }

        fn await_call(&self, caller: &CallCtx, id: CallId) -> Awaited {
            if self.owners.lock().unwrap().get(&id) != Some(&caller.id) {
                return Awaited::Foreign;
            }
            if caller.expired() {
                return Awaited::DeadlinePassed;
            }
            let calls = self.calls.lock().unwrap();
            let (_, _, input) = calls.iter().find(|c| c.0 == id).unwrap();
            Awaited::Done(Arc::new(CallResult {
                return_code: id as i32,
                output: input.iter().rev().copied().collect(),
                failed: false,
                ..CallResult::default()
            }))
        }
    }

    pub fn caller(id: CallId) -> CallCtx {
        CallCtx {
            id,
            user: "alice".into(),
            function: "f".into(),
            deadline: None,
        }
    }

    #[test]
    fn chain_name_copies_name_and_input() {
        let ch = FakeChainer::default();
        let mut bytes = vec![0u8; 64];
        bytes[0..2].copy_from_slice(b"b\0");
        bytes[10..13].copy_from_slice(b"xyz");
        let mem = GuestMemory::new(&mut bytes);
        let id = chain_name(&ch, &caller(1), &mem, 0, 10, 3, HostCharge::none()).unwrap();
        assert_eq!(id, 100);
        let calls = ch.calls.lock().unwrap();
        assert_eq!(calls[0].1, ChainTarget::Name("b".into()));
        assert_eq!(calls[0].2, b"xyz");
    }

    #[test]
    fn chain_name_rejects_bad_names_and_buffers() {
        let ch = FakeChainer::default();
        let mut bytes = vec![0u8; 64];
        bytes[0..5].copy_from_slice(b"x/y\0\0");
        let mem = GuestMemory::new(&mut bytes);
        let e = chain_name(&ch, &caller(1), &mem, 0, 0, 0, HostCharge::none()).unwrap_err();
        assert!(e.to_string().contains("x/y"), "{e}");
        // Empty name (NUL at 4).
        assert!(chain_name(&ch, &caller(1), &mem, 4, 0, 0, HostCharge::none()).is_err());
        // Unterminated (memory ends before a NUL), and out of memory.
        let mut nonul = vec![b'a'; 16];
        let m2 = GuestMemory::new(&mut nonul);
        let e = chain_name(&ch, &caller(1), &m2, 0, 0, 0, HostCharge::none()).unwrap_err();
        assert!(e.to_string().contains("not NUL-terminated"), "{e}");
        assert!(chain_name(&ch, &caller(1), &m2, 100, 0, 0, HostCharge::none()).is_err());
        // Input outside memory.
        let mut bytes = vec![0u8; 64];
        bytes[0..2].copy_from_slice(b"b\0");
        let mem = GuestMemory::new(&mut bytes);
        let e = chain_name(&ch, &caller(1), &mem, 0, 60, 8, HostCharge::none()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "__faasm_chain_name: input buffer 0x3c + 8 is outside memory (64 bytes)"
        );
        assert!(ch.calls.lock().unwrap().is_empty());
    }

    #[test]
    fn await_foreign_unknown_and_zero_ids_are_minus_one() {
        let ch = FakeChainer::default();
        let mut bytes = vec![0u8; 64];
        let mut mem = GuestMemory::new(&mut bytes);
        let id = chain_ptr(&ch, &caller(1), &mem, 7, 0, 0, HostCharge::none()).unwrap() as u32;
        assert_eq!(ch.calls.lock().unwrap()[0].1, ChainTarget::TableIndex(7));
        assert_eq!(await_call(&ch, &caller(1), id).unwrap(), id as i32);
        assert_eq!(await_call(&ch, &caller(1), id).unwrap(), id as i32);
        assert_eq!(await_call(&ch, &caller(2), id).unwrap(), -1);
        assert_eq!(await_call(&ch, &caller(1), 0).unwrap(), -1);
        assert_eq!(await_call(&ch, &caller(1), 9999).unwrap(), -1);
        assert_eq!(get_call_output_size(&ch, &caller(2), id).unwrap(), -1);
        mem.write(0, b"zzzz").unwrap();
        assert_eq!(
            await_call_output_buffer(&ch, &caller(2), &mut mem, id, 0, 4).unwrap(),
            -1
        );
        assert_eq!(mem.slice(0, 4).unwrap(), b"zzzz");
    }

    #[test]
    fn await_output_copies_at_most_len() {
        let ch = FakeChainer::default();
        let mut bytes = vec![0u8; 64];
        bytes[0..5].copy_from_slice(b"hello");
        let mut mem = GuestMemory::new(&mut bytes);
        let id = chain_ptr(&ch, &caller(1), &mem, 0, 0, 5, HostCharge::none()).unwrap() as u32;
        assert_eq!(get_call_output_size(&ch, &caller(1), id).unwrap(), 5);
        assert_eq!(
            await_call_output_buffer(&ch, &caller(1), &mut mem, id, 32, 3).unwrap(),
            id as i32
        );
        assert_eq!(mem.slice(32, 4).unwrap(), b"oll\0");
        assert!(await_call_output_buffer(&ch, &caller(1), &mut mem, id, 62, 3).is_err());
    }

    /// Faasm's form: the host places the output in memory it takes (here
    /// a bump allocator from 64) and stores pointer and length.
    #[test]
    fn await_output_places_the_output_and_stores_where() {
        let ch = FakeChainer::default();
        let mut bytes = vec![0u8; 128];
        bytes[0..5].copy_from_slice(b"hello");
        let id = {
            let mem = GuestMemory::new(&mut bytes);
            chain_ptr(&ch, &caller(1), &mem, 0, 0, 5, HostCharge::none()).unwrap() as u32
        };
        let next = std::cell::Cell::new(64u32);
        let mut alloc = |_: &mut dyn RegionMemory, len: u32| {
            let a = next.get();
            next.set(a + len);
            Ok(a)
        };
        let rc = await_call_output(&ch, &caller(1), &mut bytes, &mut alloc, id, 16, 20).unwrap();
        assert_eq!(rc, id as i32);
        assert_eq!(&bytes[16..20], &64u32.to_le_bytes());
        assert_eq!(&bytes[20..24], &5u32.to_le_bytes());
        assert_eq!(&bytes[64..69], b"olleh");
        // An empty output: address 0, length 0, nothing taken.
        let empty = {
            let mem = GuestMemory::new(&mut bytes);
            chain_ptr(&ch, &caller(1), &mem, 0, 0, 0, HostCharge::none()).unwrap() as u32
        };
        await_call_output(&ch, &caller(1), &mut bytes, &mut alloc, empty, 16, 20).unwrap();
        assert_eq!(&bytes[16..24], &[0; 8]);
        assert_eq!(next.get(), 69);
        // A foreign id: -1, slots untouched.
        bytes[16..24].fill(7);
        let rc = await_call_output(&ch, &caller(2), &mut bytes, &mut alloc, id, 16, 20).unwrap();
        assert_eq!(rc, -1);
        assert_eq!(&bytes[16..24], &[7; 8]);
        // A slot outside memory traps before waiting.
        let e =
            await_call_output(&ch, &caller(1), &mut bytes, &mut alloc, id, 16, 126).unwrap_err();
        assert_eq!(
            e.to_string(),
            "__faasm_await_call_output: output length 0x7e + 4 is outside memory (128 bytes)"
        );
        // The allocator's failure is the call's.
        let mut refuse = |_: &mut dyn RegionMemory, _| {
            Err(FaasmError::Grow {
                call: "__faasm_await_call_output",
                pages: 1,
            })
        };
        assert!(await_call_output(&ch, &caller(1), &mut bytes, &mut refuse, id, 16, 20).is_err());
    }

    #[test]
    fn await_after_the_deadline_fails() {
        let ch = FakeChainer::default();
        let mut bytes = vec![0u8; 8];
        let mem = GuestMemory::new(&mut bytes);
        let mut c = caller(1);
        let id = chain_ptr(&ch, &c, &mem, 0, 0, 0, HostCharge::none()).unwrap() as u32;
        c.deadline = Some(Instant::now());
        let e = await_call(&ch, &c, id).unwrap_err();
        assert!(e.to_string().contains("deadline"), "{e}");
    }
}
