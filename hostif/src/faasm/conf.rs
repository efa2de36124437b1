//! `__faasm_conf_flag` and `__faasm_backtrace`: what a function may ask
//! about the runtime it runs on.

/// Faasm's configuration flags as a function sees them: `ALWAYS_ON` is 1
/// (Faasm keeps it for tests), every other flag is off. Faasm's one real
/// flag, `PYTHON_PRELOAD`, is off because faasm-rs runs no Python.
pub(crate) fn conf_flag(key: &str) -> u32 {
    match key {
        "ALWAYS_ON" => 1,
        _ => 0,
    }
}

/// The text `__faasm_backtrace(depth)` prints on the host's stderr. The
/// runtime does not walk the guest's stack from a host call, so this names
/// the call that asked; a depth below 1 is taken as 1.
pub(crate) fn backtrace_note(user: &str, function: &str, call_id: u32, depth: i32) -> String {
    format!(
        "faasm: backtrace requested by {user}/{function} (call {call_id}, depth {}): \
         wasm frames are not available from a host call",
        depth.max(1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_always_on_is_on() {
        assert_eq!(conf_flag("ALWAYS_ON"), 1);
        assert_eq!(conf_flag("PYTHON_PRELOAD"), 0);
        assert_eq!(conf_flag("ALWAYS_OFF"), 0);
        assert_eq!(conf_flag(""), 0);
    }

    #[test]
    fn backtrace_note_names_the_call() {
        let s = backtrace_note("alice", "f", 7, -3);
        assert!(s.contains("alice/f"), "{s}");
        assert!(s.contains("call 7"), "{s}");
        assert!(s.contains("depth 1"), "{s}");
    }
}
