//! Where a guest's standard streams go: the host's own streams, an
//! in-memory pipe the embedder can read back (tests, captured function
//! output), or nowhere.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};

/// An in-memory byte buffer shared between a guest's output stream and the
/// embedder. Cheap to clone; every clone sees the same bytes.
#[derive(Clone, Default)]
pub struct OutputPipe {
    buf: Arc<Mutex<Vec<u8>>>,
    /// Bytes beyond this are refused with `ENOSPC`, so a chatty guest
    /// cannot exhaust host memory.
    limit: Option<usize>,
}

impl std::fmt::Debug for OutputPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputPipe")
            .field("len", &self.lock().len())
            .field("limit", &self.limit)
            .finish()
    }
}

impl OutputPipe {
    /// An unbounded pipe.
    pub fn new() -> OutputPipe {
        OutputPipe::default()
    }

    /// A pipe that holds at most `limit` bytes.
    pub fn with_limit(limit: usize) -> OutputPipe {
        OutputPipe {
            limit: Some(limit),
            ..OutputPipe::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        // A panic elsewhere while holding the lock leaves bytes, not broken
        // invariants: keep using them.
        self.buf.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.lock().clone()
    }

    /// Everything written so far, as text (invalid UTF-8 replaced).
    pub fn contents_lossy(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }

    /// Returns and clears the contents.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.lock())
    }

    /// Appends as much of `data` as fits; returns how much that was.
    fn append(&self, data: &[u8]) -> usize {
        let mut buf = self.lock();
        let room = self
            .limit
            .map_or(usize::MAX, |l| l.saturating_sub(buf.len()));
        let n = data.len().min(room);
        buf.extend_from_slice(&data[..n]);
        n
    }
}

/// A guest output stream (stdout or stderr).
#[derive(Debug, Clone, Default)]
pub enum OutputSink {
    /// Discard everything (writes still succeed).
    #[default]
    Null,
    /// The host process's stdout.
    HostStdout,
    /// The host process's stderr.
    HostStderr,
    /// An in-memory buffer the host reads afterwards (the call's captured
    /// output).
    Pipe(OutputPipe),
}

impl OutputSink {
    /// Writes `data`; returns how many bytes were taken. Host streams take
    /// everything or fail; a bounded pipe that fills up takes what fits.
    pub(crate) fn write(&self, data: &[u8]) -> std::io::Result<usize> {
        match self {
            OutputSink::Null => Ok(data.len()),
            OutputSink::HostStdout => {
                let mut out = std::io::stdout().lock();
                // Flush each write: the guest's libc already buffers, and the
                // host's own messages must interleave in order with it.
                out.write_all(data)?;
                out.flush()?;
                Ok(data.len())
            }
            OutputSink::HostStderr => {
                std::io::stderr().lock().write_all(data)?;
                Ok(data.len())
            }
            OutputSink::Pipe(p) => Ok(p.append(data)),
        }
    }
}

/// A guest input stream (stdin).
#[derive(Debug, Clone, Default)]
pub enum InputSource {
    /// End of file immediately.
    #[default]
    Empty,
    /// The host process's stdin.
    HostStdin,
    /// These bytes, then end of file. The position is shared by clones.
    Bytes(Arc<Mutex<std::io::Cursor<Vec<u8>>>>),
}

impl InputSource {
    /// These bytes, then end of file.
    pub fn bytes(data: impl Into<Vec<u8>>) -> InputSource {
        InputSource::Bytes(Arc::new(Mutex::new(std::io::Cursor::new(data.into()))))
    }

    /// Reads at most `buf.len()` bytes; 0 means end of file. Like `read(2)`,
    /// it may return fewer bytes than asked for.
    pub(crate) fn read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            InputSource::Empty => Ok(0),
            InputSource::HostStdin => std::io::stdin().lock().read(buf),
            InputSource::Bytes(c) => c.lock().unwrap_or_else(|e| e.into_inner()).read(buf),
        }
    }

    /// Whether a read may wait for data (so a caller must not issue a
    /// second read once it has some).
    pub(crate) fn may_block(&self) -> bool {
        matches!(self, InputSource::HostStdin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipe_clones_share_contents() {
        let p = OutputPipe::new();
        let sink = OutputSink::Pipe(p.clone());
        assert_eq!(sink.write(b"hello ").unwrap(), 6);
        assert_eq!(sink.write(b"world").unwrap(), 5);
        assert_eq!(p.contents(), b"hello world");
        assert_eq!(p.take(), b"hello world");
        assert!(p.contents().is_empty());
    }

    #[test]
    fn bounded_pipe_keeps_what_fits() {
        let p = OutputPipe::with_limit(4);
        let sink = OutputSink::Pipe(p.clone());
        assert_eq!(sink.write(b"abcdef").unwrap(), 4);
        assert_eq!(p.contents(), b"abcd");
        assert_eq!(sink.write(b"x").unwrap(), 0);
        assert_eq!(sink.write(b"").unwrap(), 0);
    }

    #[test]
    fn byte_input_reads_then_eof() {
        let src = InputSource::bytes("abc");
        let mut buf = [0u8; 2];
        assert_eq!(src.read(&mut buf).unwrap(), 2);
        assert_eq!(&buf, b"ab");
        assert_eq!(src.read(&mut buf).unwrap(), 1);
        assert_eq!(buf[0], b'c');
        assert_eq!(src.read(&mut buf).unwrap(), 0);
        assert_eq!(InputSource::Empty.read(&mut buf).unwrap(), 0);
    }
}
