//! Text-format modules for the micro benchmarks, assembled with `wast`.

/// Assembles a `(module ...)` text into wasm binary bytes.
pub fn wat_to_wasm(text: &str) -> Result<Vec<u8>, wast::Error> {
    let buf = wast::parser::ParseBuffer::new(text)?;
    let mut wat: wast::Wat = wast::parser::parse(&buf)?;
    wat.encode()
}
