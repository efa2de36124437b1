//! `__faasm_conf_flag` and `__faasm_backtrace`: what a function may ask
//! about the runtime it runs on.

use faasm_runtime::Backtrace;

/// Faasm's configuration flags as a function sees them: `ALWAYS_ON` is 1
/// (Faasm keeps it for tests), every other flag is off. Faasm's one real
/// flag, `PYTHON_PRELOAD`, is off because faasm-rs runs no Python.
pub(crate) fn conf_flag(key: &str) -> u32 {
    match key {
        "ALWAYS_ON" => 1,
        _ => 0,
    }
}

/// The text `__faasm_backtrace(depth)` prints on the host's stderr: the
/// call that asked, then its innermost `depth` wasm frames (all of them
/// for a depth below 1).
pub(crate) fn backtrace_note(
    user: &str,
    function: &str,
    call_id: u32,
    depth: i32,
    backtrace: &Backtrace,
) -> String {
    let mut shown = backtrace.clone();
    if let Ok(depth) = usize::try_from(depth)
        && depth > 0
        && depth < shown.frames.len()
    {
        shown.frames.truncate(depth);
        shown.truncated = true;
    }
    format!("faasm: backtrace requested by {user}/{function} (call {call_id})\n{shown}")
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
    fn backtrace_note_names_the_call_and_keeps_depth_frames() {
        let frame = |i: u32, n: Option<&str>| faasm_runtime::Frame {
            func_index: i,
            func_name: n.map(str::to_string),
            inlined: false,
        };
        let bt = Backtrace {
            frames: vec![
                frame(5, Some("leaf")),
                frame(4, None),
                frame(3, Some("main")),
            ],
            truncated: false,
        };
        let all = backtrace_note("alice", "f", 7, -3, &bt);
        assert!(all.contains("alice/f (call 7)"), "{all}");
        assert!(all.contains("0: `leaf` (function 5)"), "{all}");
        assert!(all.contains("1: function 4"), "{all}");
        assert!(all.contains("2: `main` (function 3)"), "{all}");
        let two = backtrace_note("alice", "f", 7, 2, &bt);
        assert!(two.contains("1: function 4"), "{two}");
        assert!(!two.contains("main"), "{two}");
        assert!(two.contains("deeper frames not kept"), "{two}");
    }
}
