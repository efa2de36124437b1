//! Hello world for faasm, in Rust on `wasm32-wasip1`:
//!
//!   faasm-run hello-rust.wasm                -> Hello, world!
//!   faasm-run --env NAME=Rust hello-rust.wasm -> Hello, Rust!
//!   faasm-run hello-rust.wasm a b            -> also lists the arguments
//!   faasm-run hello-rust.wasm exit 3         -> exits with status 3

fn main() {
    let name = std::env::var("NAME").unwrap_or_else(|_| "world".to_string());
    println!("Hello, {name}!");
    let args: Vec<String> = std::env::args().collect();
    for (i, arg) in args.iter().enumerate().skip(1) {
        println!("argv[{i}] = {arg}");
    }
    if let [_, cmd, status] = args.as_slice() {
        if cmd == "exit" {
            let status: i32 = status.parse().unwrap_or(1);
            eprintln!("exiting with status {status}");
            std::process::exit(status);
        }
    }
}
