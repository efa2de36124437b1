//! Compiles a wasm module with faasm and disassembles one function with
//! `objdump` (binutils), to inspect hot-loop quality when a kernel ratio
//! is bad:
//!   cargo run --release -p faasm-benches --example dump_text -- FILE.wasm [FUNC-NAME] [--poll-interrupts] [--explicit] [--no-inline]
//! Without FUNC-NAME it lists every function with its code size.

use faasm_compiler::{CompileConfig, MemoryStrategy, compile};
use std::process::Command;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flags: Vec<&str> = args
        .iter()
        .filter(|a| a.starts_with("--"))
        .map(String::as_str)
        .collect();
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let Some(path) = positional.first() else {
        eprintln!(
            "usage: dump_text FILE.wasm [FUNC-NAME] [--poll-interrupts] [--explicit] [--no-inline] [--no-inline]"
        );
        std::process::exit(2);
    };
    let wasm = std::fs::read(path).expect("read wasm");
    let mut config = CompileConfig {
        poll_interrupts: flags.contains(&"--poll-interrupts"),
        inline: !flags.contains(&"--no-inline"),
        ..CompileConfig::default()
    };
    if flags.contains(&"--explicit") {
        config.memory_strategy = MemoryStrategy::Explicit;
    }
    let artifact = compile(&wasm, &config).expect("compile");
    let info = &artifact.info;
    let name_of = |defined: usize| {
        let index = defined as u32 + info.num_imported_funcs;
        info.func_names
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| format!("func{index}"))
    };
    let Some(wanted) = positional.get(1) else {
        for (i, f) in artifact.funcs.iter().enumerate() {
            println!("{:>8} bytes at {:#08x}  {}", f.len, f.offset, name_of(i));
        }
        return;
    };
    let (i, f) = artifact
        .funcs
        .iter()
        .enumerate()
        .find(|(i, _)| name_of(*i) == **wanted)
        .expect("no such function");
    let bin = std::env::temp_dir().join(format!("faasm-dump-{}.bin", std::process::id()));
    std::fs::write(
        &bin,
        &artifact.text[f.offset as usize..(f.offset + f.len) as usize],
    )
    .expect("write text");
    println!("; {} ({} bytes)", name_of(i), f.len);
    let status = Command::new("objdump")
        .args(["-D", "-b", "binary", "-m", "i386:x86-64", "-M", "intel"])
        .arg(&bin)
        .status()
        .expect("run objdump");
    let _ = std::fs::remove_file(&bin);
    std::process::exit(status.code().unwrap_or(1));
}
