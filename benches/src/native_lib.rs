//! The native builds of the Rust kernels: a shared library
//! (`librust_kernels.so`, from `guests/build-rust-kernels.sh`) opened with
//! `dlopen`. All the unsafe code for it is here, behind [`RustKernelLib`]:
//! it hands out only the symbols listed in
//! [`crate::kernels::RUST_KERNELS`], which the guest crate defines as
//! `extern "C" fn(i32) -> i64`, and never unloads the library, so the
//! functions it hands out stay valid for the life of the process.

use crate::BenchError;
use crate::kernels::{KernelFn, NativeKernel, RUST_KERNELS};
use std::ffi::{CStr, CString, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::NonNull;

/// A loaded build of the Rust kernels' library (never unloaded).
pub struct RustKernelLib {
    handle: NonNull<c_void>,
    path: String,
}

// SAFETY: a `dlopen` handle may be used from any thread (`dlsym` is
// thread-safe), and the handle is never closed.
unsafe impl Send for RustKernelLib {}
// SAFETY: as for `Send`: `&RustKernelLib` only allows `dlsym`.
unsafe impl Sync for RustKernelLib {}

/// The last `dlerror()` message.
fn dl_error() -> String {
    // SAFETY: dlerror takes no arguments; it returns null or a
    // NUL-terminated string valid until the next dl* call on this thread,
    // copied out at once.
    let message = unsafe { libc::dlerror() };
    if message.is_null() {
        "unknown error".to_string()
    } else {
        // SAFETY: non-null, so a NUL-terminated string (see above).
        unsafe { CStr::from_ptr(message) }
            .to_string_lossy()
            .into_owned()
    }
}

impl RustKernelLib {
    /// Loads `path`, a build of `guests/rust-kernels` (its library
    /// initialisers are Rust's standard library's, which are sound to run
    /// in this process).
    pub fn open(path: &Path) -> Result<RustKernelLib, BenchError> {
        let shown = path.display().to_string();
        let c_path = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| BenchError::RustKernels(format!("{shown}: NUL in path")))?;
        // SAFETY: `c_path` is a NUL-terminated path; the library is the
        // Rust kernels' cdylib, whose initialisers only set up its own copy
        // of the standard library. RTLD_LOCAL keeps its symbols from
        // interposing on ours.
        let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        match NonNull::new(handle) {
            Some(handle) => Ok(RustKernelLib {
                handle,
                path: shown,
            }),
            None => Err(BenchError::RustKernels(format!(
                "dlopen {shown}: {}",
                dl_error()
            ))),
        }
    }

    /// The kernel exported as `symbol`, one of [`RUST_KERNELS`]' symbols.
    pub fn kernel(&self, symbol: &str) -> Result<NativeKernel, BenchError> {
        if !RUST_KERNELS.iter().any(|k| k.symbol == symbol) {
            return Err(BenchError::RustKernels(format!(
                "`{symbol}` is not one of the Rust kernels"
            )));
        }
        let c_symbol = CString::new(symbol)
            .map_err(|_| BenchError::RustKernels(format!("NUL in symbol {symbol:?}")))?;
        // SAFETY: `handle` is a live handle (never closed) and `c_symbol`
        // NUL-terminated.
        let address = unsafe { libc::dlsym(self.handle.as_ptr(), c_symbol.as_ptr()) };
        if address.is_null() {
            return Err(BenchError::RustKernels(format!(
                "{}: no symbol `{symbol}`: {}",
                self.path,
                dl_error()
            )));
        }
        // SAFETY: the symbols of RUST_KERNELS (checked above) are defined
        // by guests/rust-kernels as `extern "C" fn(i32) -> i64`, so the
        // address is such a function; it stays valid as the library is
        // never unloaded.
        let f = unsafe { std::mem::transmute::<*mut c_void, KernelFn>(address) };
        Ok(NativeKernel::from_rust_kernel(f))
    }
}
