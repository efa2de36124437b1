//! How `faasm-run`'s front ends end: exit statuses, and how an error is
//! printed. Below every front end (run, executor, server, demo, bench), so
//! they share these without importing each other.

/// Exit status for every failure of faasm-run itself or of the guest (load,
/// link, bad arguments, traps). The guest's own `exit(n)` is passed through.
pub const EXIT_ERROR: u8 = 1;

/// Exit status for command-line usage errors (clap's, and ours).
pub const EXIT_USAGE: u8 = 2;

/// A process exit code for a guest exit status, as a native process would
/// see it: only the low 8 bits survive.
pub fn exit_code(status: i32) -> u8 {
    (status as u32 & 0xff) as u8
}

/// Error messages are one line: a multi-line message from a lower layer
/// is joined.
pub fn one_line(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// How an error is printed: its message on one line, then the wasm
/// backtrace a trap carries, if any, one frame per line (lines a user
/// reads top-down, as a native crash report).
pub fn report(msg: &str) -> String {
    match msg.split_once("\nwasm backtrace:") {
        Some((head, frames)) => format!("{}\nwasm backtrace:{frames}", one_line(head)),
        None => one_line(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_become_one_line_and_keep_their_backtrace() {
        assert_eq!(one_line("a\n  b\n\nc"), "a; b; c");
        assert_eq!(one_line("single"), "single");
        assert_eq!(
            report("trap: x\nmore\nwasm backtrace:\n   0: f\n   1: g"),
            "trap: x; more\nwasm backtrace:\n   0: f\n   1: g"
        );
    }

    #[test]
    fn exit_codes_keep_the_low_byte() {
        assert_eq!(exit_code(0), 0);
        assert_eq!(exit_code(3), 3);
        assert_eq!(exit_code(255), 255);
        assert_eq!(exit_code(256), 0);
        assert_eq!(exit_code(256 + 7), 7);
        assert_eq!(exit_code(-1), 255);
    }
}
