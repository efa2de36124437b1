//! `faasm-run [--env NAME=VALUE]... [--invoke NAME] FILE [ARGS...]`: see
//! `faasm::cli` (all logic lives in the library so tests can reach it).

fn main() -> std::process::ExitCode {
    faasm::cli::main()
}
