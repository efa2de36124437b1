//! Turning a panic inside one directive into a recorded failure.
//!
//! A process-wide panic hook is installed once; on threads that are running
//! a `.wast` file it records the message and location instead of printing
//! (hundreds of `todo!()`s would otherwise flood the output), and on every
//! other thread it defers to the hook that was there before.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CAPTURING.with(Cell::get) {
                let msg = payload_message(info.payload());
                let text = match info.location() {
                    Some(l) => format!("panicked at {}:{}: {msg}", l.file(), l.line()),
                    None => format!("panicked: {msg}"),
                };
                LAST.with(|l| *l.borrow_mut() = Some(text));
            } else {
                previous(info);
            }
        }));
    });
}

fn payload_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Marks the current thread as a harness thread for its lifetime, so its
/// panics are captured quietly.
pub fn capture_on_this_thread() {
    install_hook();
    CAPTURING.with(|c| c.set(true));
}

/// Runs `f`, returning `Err(description)` if it panicked.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    LAST.with(|l| l.borrow_mut().take());
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => Ok(v),
        Err(payload) => Err(LAST
            .with(|l| l.borrow_mut().take())
            .unwrap_or_else(|| format!("panicked: {}", payload_message(&*payload)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_errors_with_location() {
        std::thread::spawn(|| {
            capture_on_this_thread();
            let r: Result<(), String> = catch(|| panic!("boom {}", 7));
            let e = r.unwrap_err();
            assert!(e.contains("boom 7"), "{e}");
            assert!(e.contains("panics.rs"), "{e}");
            assert_eq!(catch(|| 5), Ok(5));
        })
        .join()
        .unwrap();
    }
}
