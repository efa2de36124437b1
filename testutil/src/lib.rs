//! What faasm-rs's tests share, in one place: WebAssembly text to binary
//! and scratch directories. A dev-dependency only: no product code uses it,
//! and it depends on no crate of the workspace, so every crate's tests
//! (unit tests too) can use it without a dependency cycle.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Encodes a `(module ...)` in WebAssembly text to binary; panics with
/// the parse error (a test's own module is wrong, not the code tested).
pub fn wat(text: &str) -> Vec<u8> {
    let buf = wast::parser::ParseBuffer::new(text)
        .unwrap_or_else(|e| panic!("lexing a test module: {e}"));
    let mut module: wast::Wat =
        wast::parser::parse(&buf).unwrap_or_else(|e| panic!("parsing a test module: {e}"));
    module
        .encode()
        .unwrap_or_else(|e| panic!("encoding a test module: {e}"))
}

/// A fresh, empty directory under the system temp dir, named after `name`,
/// the process and a counter, so tests running at once (in one process or
/// several) never share one. It is left behind for inspection; see
/// [`TempDir`] for one removed when dropped.
pub fn scratch_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "faasm-test-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("creating scratch dir {}: {e}", dir.display()));
    dir
}

/// A [`scratch_dir`] removed (with its contents) when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        TempDir(scratch_dir(name))
    }

    /// `rel` under the directory (`""`: the directory itself).
    pub fn path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.0.clone()
        } else {
            self.0.join(rel)
        }
    }

    /// Creates `rel` and its parents.
    pub fn mkdir(&self, rel: &str) {
        std::fs::create_dir_all(self.path(rel)).unwrap();
    }

    /// Writes `text` to `rel`, creating its parents.
    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Whether `rel` exists (a dangling link does).
    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).symlink_metadata().is_ok()
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wat_encodes_a_module() {
        let bin = wat("(module (func (export \"f\") (result i32) i32.const 7))");
        assert_eq!(&bin[..8], b"\0asm\x01\0\0\0");
    }

    #[test]
    #[should_panic(expected = "parsing a test module")]
    fn bad_text_panics_with_the_error() {
        wat("(module (func (result i32) i32.bogus))");
    }

    #[test]
    fn scratch_dirs_are_fresh_and_distinct() {
        let (a, b) = (scratch_dir("x"), scratch_dir("x"));
        assert_ne!(a, b);
        assert!(a.is_dir() && std::fs::read_dir(&a).unwrap().next().is_none());
    }

    #[test]
    fn a_temp_dir_is_removed_on_drop() {
        let t = TempDir::new("drop");
        t.write("a/b.txt", "hi");
        assert_eq!(std::fs::read_to_string(t.path("a/b.txt")).unwrap(), "hi");
        let p = t.path("");
        drop(t);
        assert!(!p.exists());
    }
}
