//! Built-in demos beyond the hello-world guest: `faasm-run demo sgd`
//! ([`sgd`]), its command line ([`cli`]) and benchmark ([`bench`](mod@bench)).

pub mod bench;
pub mod cli;
pub mod memory;
pub mod sgd;
