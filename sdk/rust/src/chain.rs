//! Chaining: queueing calls of other functions and waiting for them.

use crate::{Error, abi_len, host_size, name, sys};

/// A chained call, as returned by [`chain`] and [`chain_fn`]. The call runs
/// whether or not anyone waits for it; waiting for it again is fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use = "the call runs anyway; keep its id to wait for its result"]
pub struct CallId(u32);

/// Queues a call of this user's function `name` with a copy of `input` and
/// returns at once. The name is the part after `user/`: a function can only
/// chain functions of its own user. A function that does not exist still
/// gets a call, which fails (return code 1, its output says why).
///
/// # Errors
/// [`Error::InvalidName`] for an empty name, one containing `/` or NUL, or
/// one longer than [`MAX_NAME_LEN`](crate::MAX_NAME_LEN) bytes.
pub fn chain(name: &str, input: &[u8]) -> Result<CallId, Error> {
    let name = name::function(name)?;
    // SAFETY: name is NUL-terminated, input is valid for reads of its length.
    let id = unsafe {
        sys::__faasm_chain_name(name.as_ptr().cast(), input.as_ptr(), abi_len(input.len()))
    };
    Ok(CallId(id))
}

/// Queues a call of `func` in a fresh instance of this same module, with a
/// copy of `input`, and returns at once. The new instance runs the module's
/// initialisers and then `func` instead of `main`; its result is the call's
/// return code. `func` reads its input with [`input`](crate::input) and sets
/// its output with [`set_output`](crate::set_output).
///
/// Rust's `std` needs no initialisers on wasm32-wasip1; if the program has
/// C constructors, link with `-C link-arg=--export=__wasm_call_ctors`.
pub fn chain_fn(func: extern "C" fn() -> i32, input: &[u8]) -> CallId {
    // On wasm32 a function pointer is its index in table 0, which is what
    // the host expects; taking it also puts the function in the table.
    let index = func as usize as u32;
    // SAFETY: input is valid for reads of its length; the host checks the
    // index against the table and the entry's type.
    let id = unsafe { sys::__faasm_chain_ptr(index, input.as_ptr(), abi_len(input.len())) };
    CallId(id)
}

impl CallId {
    /// Blocks until the call finishes and returns its return code: 0 for
    /// success, the exit status or entry result otherwise, 1 if it trapped or
    /// timed out, -1 if this call did not create it.
    pub fn wait(self) -> i32 {
        // SAFETY: takes and returns plain integers.
        unsafe { sys::__faasm_await_call(self.0) }
    }

    /// Blocks until the call finishes and returns its return code (as
    /// [`wait`](Self::wait)) and its output.
    pub fn output(self) -> (i32, Vec<u8>) {
        // SAFETY: takes and returns plain integers (it waits for the call).
        let size = unsafe { sys::__faasm_get_call_output_size(self.0) };
        if size < 0 {
            return (self.wait(), Vec::new());
        }
        let mut buf = vec![0u8; host_size(size)];
        // SAFETY: buf is a live allocation of exactly buf.len() bytes.
        let code = unsafe {
            sys::__faasm_await_call_output_buffer(self.0, buf.as_mut_ptr(), abi_len(buf.len()))
        };
        (code, buf)
    }

    /// The id as the host numbers it (never 0 for a real call).
    pub fn raw(self) -> u32 {
        self.0
    }

    /// An id received from elsewhere, e.g. as text in an input. Waiting for
    /// a call this function did not create returns -1, nothing worse.
    pub fn from_raw(id: u32) -> CallId {
        CallId(id)
    }
}
