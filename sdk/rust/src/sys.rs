//! The raw host imports (module `env`), exactly as the Faasm guest ABI
//! defines them. Prefer the safe API of this crate: these take raw pointers
//! and the host ends the call with a trap on a bad one.
//!
//! On wasm32 every pointer, length and call id is an `i32` at the wasm level;
//! lengths are unsigned, hence `u32` here. Strings (function names, state
//! keys) are NUL-terminated and at most 1023 bytes long.
//!
//! Off wasm32 (unit tests and docs on the build machine) each import is a
//! function that panics, so the crate links there; a function only runs
//! under faasm.

/// Declares the imports: on wasm32 as `env` imports, elsewhere as
/// panicking stand-ins with the same signatures.
macro_rules! imports {
    ($( $(#[$doc:meta])* pub fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?; )*) => {
        #[cfg(target_arch = "wasm32")]
        #[link(wasm_import_module = "env")]
        unsafe extern "C" {
            $( $(#[$doc])* pub fn $name($($arg: $ty),*) $(-> $ret)?; )*
        }

        $(
            $(#[$doc])*
            ///
            /// # Safety
            /// As for the host import: pointers must be valid for the lengths given.
            #[cfg(not(target_arch = "wasm32"))]
            #[allow(unused_variables)]
            pub unsafe extern "C" fn $name($($arg: $ty),*) $(-> $ret)? {
                off_wasm(stringify!($name))
            }
        )*
    };
}

#[cfg(not(target_arch = "wasm32"))]
fn off_wasm(name: &str) -> ! {
    panic!("{name} is a faasm host call: run this function under faasm (wasm32-wasip1)")
}

imports! {
    /// `len == 0`: returns the input's size; otherwise copies `min(len,
    /// size)` bytes to `buf` and returns how many.
    pub fn __faasm_read_input(buf: *mut u8, len: u32) -> i32;
    /// Sets (replaces) the call's output.
    pub fn __faasm_write_output(buf: *const u8, len: u32);

    /// Queues a call of the same user's function `name`; returns its id.
    pub fn __faasm_chain_name(name: *const u8, input: *const u8, len: u32) -> u32;
    /// Queues a call of table entry `func` (type `() -> i32`) of this module.
    pub fn __faasm_chain_ptr(func: u32, input: *const u8, len: u32) -> u32;
    /// Waits for call `id`; returns its return code (-1: not our call).
    pub fn __faasm_await_call(id: u32) -> i32;
    /// Faasm's form: waits, puts the whole output in pages the host takes
    /// for it and stores their address at `out` and the length at
    /// `out_len`; returns the return code (-1: not our call, nothing stored).
    pub fn __faasm_await_call_output(id: u32, out: *mut *mut u8, out_len: *mut i32) -> i32;
    /// Waits, copies `min(len, size)` output bytes; returns the return code.
    pub fn __faasm_await_call_output_buffer(id: u32, buf: *mut u8, len: u32) -> i32;
    /// Waits, returns the call's output size (-1: not our call).
    pub fn __faasm_get_call_output_size(id: u32) -> i32;

    /// `len == 0`: returns the value's size (0 if absent); else copies
    /// `min(len, size)` bytes and returns the size.
    pub fn __faasm_read_state(key: *const u8, buf: *mut u8, len: u32) -> i32;
    /// Copies `value[offset..offset + len]`, the value zero-extended to
    /// `total_len`.
    pub fn __faasm_read_state_offset(
        key: *const u8,
        total_len: u32,
        offset: u32,
        buf: *mut u8,
        len: u32,
    );
    /// Replaces the value.
    pub fn __faasm_write_state(key: *const u8, data: *const u8, len: u32);
    /// Grows the value to at least `total_len`, replaces bytes at `offset`.
    pub fn __faasm_write_state_offset(
        key: *const u8,
        total_len: u32,
        offset: u32,
        data: *const u8,
        len: u32,
    );
    /// Maps the value (`total_len` bytes) into linear memory.
    pub fn __faasm_read_state_ptr(key: *const u8, total_len: u32) -> *mut u8;
    /// Maps the value, returns a pointer to bytes `offset..offset + len`.
    pub fn __faasm_read_state_offset_ptr(
        key: *const u8,
        total_len: u32,
        offset: u32,
        len: u32,
    ) -> *mut u8;
    /// Flags the whole mapped value as dirty.
    pub fn __faasm_flag_state_dirty(key: *const u8, total_len: u32);
    /// Flags `offset..offset + len` of the mapped value as dirty.
    pub fn __faasm_flag_state_offset_dirty(key: *const u8, total_len: u32, offset: u32, len: u32);
    /// Writes the whole mapped region back to the state.
    pub fn __faasm_push_state(key: *const u8);
    /// Writes the dirty ranges of the mapped region back to the state.
    pub fn __faasm_push_state_partial(key: *const u8);
    /// Writes back the bytes of the mapped region whose byte in the mapped
    /// region of `mask_key` is non-zero.
    pub fn __faasm_push_state_partial_mask(key: *const u8, mask_key: *const u8);
    /// Stores the guest file `path` as the value; returns its size.
    pub fn __faasm_write_state_from_file(key: *const u8, path: *const u8) -> u32;
    /// Refreshes the mapped region from the state.
    pub fn __faasm_pull_state(key: *const u8, total_len: u32);
    /// Appends one element.
    pub fn __faasm_append_state(key: *const u8, data: *const u8, len: u32);
    /// Copies the first `n_elems` appended elements (`len` bytes in all).
    pub fn __faasm_read_appended_state(key: *const u8, buf: *mut u8, len: u32, n_elems: u32);
    /// Removes all appended elements.
    pub fn __faasm_clear_appended_state(key: *const u8);

    /// Local tier read lock.
    pub fn __faasm_lock_state_read(key: *const u8);
    /// Releases the local tier read lock.
    pub fn __faasm_unlock_state_read(key: *const u8);
    /// Local tier write lock.
    pub fn __faasm_lock_state_write(key: *const u8);
    /// Releases the local tier write lock.
    pub fn __faasm_unlock_state_write(key: *const u8);
    /// Global tier read lock.
    pub fn __faasm_lock_state_global_read(key: *const u8);
    /// Releases the global tier read lock.
    pub fn __faasm_unlock_state_global_read(key: *const u8);
    /// Global tier write lock.
    pub fn __faasm_lock_state_global_write(key: *const u8);
    /// Releases the global tier write lock.
    pub fn __faasm_unlock_state_global_write(key: *const u8);

    /// 1 if the runtime's configuration flag `key` is on, else 0.
    pub fn __faasm_conf_flag(key: *const u8) -> u32;
    /// Asks the runtime to report where this call is (on its stderr).
    pub fn __faasm_backtrace(depth: i32);
}
