//! Matching a trap against the message a spec test expects.
//!
//! The reference interpreter sometimes appends details ("uninitialized
//! element 2") and our kinds carry none, so a match is either message being a
//! prefix of the other; anything else (e.g. "undefined element" vs
//! "uninitialized element") is a mismatch.

use faasm_runtime::{Trap, TrapReason};

/// The message our trap stands for, comparable with the spec's text.
pub fn trap_message(trap: &Trap) -> String {
    match &trap.reason {
        TrapReason::Wasm(kind) => kind.message().to_string(),
        TrapReason::Host(h) => h.message.clone(),
        TrapReason::Exit(s) => format!("exit {s}"),
    }
}

pub fn message_matches(expected: &str, got: &str) -> bool {
    let (e, g) = (expected.trim(), got.trim());
    !e.is_empty() && !g.is_empty() && (e.starts_with(g) || g.starts_with(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use faasm_runtime::TrapKind;

    fn m(expected: &str, kind: TrapKind) -> bool {
        message_matches(expected, &trap_message(&Trap::new(kind)))
    }

    #[test]
    fn spec_messages_match_their_kinds() {
        assert!(m("uninitialized element 2", TrapKind::UninitializedElement));
        assert!(m("uninitialized element", TrapKind::UninitializedElement));
        assert!(m("undefined element", TrapKind::UndefinedElement));
        assert!(m(
            "out of bounds memory access",
            TrapKind::MemoryOutOfBounds
        ));
        assert!(m("call stack exhausted", TrapKind::StackOverflow));
        assert!(m("integer divide by zero", TrapKind::IntegerDivisionByZero));
        assert!(m("indirect call type mismatch", TrapKind::BadSignature));
    }

    #[test]
    fn different_kinds_do_not_match() {
        assert!(!m("undefined element", TrapKind::UninitializedElement));
        assert!(!m("uninitialized element", TrapKind::UndefinedElement));
        assert!(!m(
            "out of bounds table access",
            TrapKind::MemoryOutOfBounds
        ));
        assert!(!m("integer overflow", TrapKind::IntegerDivisionByZero));
        assert!(!m("", TrapKind::Unreachable));
    }

    #[test]
    fn host_traps_use_their_text() {
        assert!(message_matches(
            "boom",
            &trap_message(&Trap::host("boom happened"))
        ));
    }
}
