//! The per-Faaslet WASI state (arguments, environment, descriptor table,
//! clock base) and the builder an embedder configures it with.

pub(crate) use super::fdtable::FdEntry;
use super::fdtable::{MAX_FDS, OpenDir};
use super::stdio::{InputSource, OutputPipe, OutputSink};
use super::vfs::{Mount, MountError, Preopen};
use crate::errno::Errno;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// A configuration the builder refuses: WASI strings are NUL-terminated in
/// guest memory, so an embedded NUL would silently truncate them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WasiCtxError {
    /// An argument contains a NUL byte.
    #[error("argument {index} contains a NUL byte")]
    NulInArg {
        /// The argument's position (0 is the program name).
        index: usize,
    },
    /// An environment variable's name or value contains a NUL byte.
    #[error("environment variable {index} contains a NUL byte")]
    NulInEnv {
        /// The variable's position, in the order they were set.
        index: usize,
    },
    /// An environment variable's name is empty or contains `=`.
    #[error("environment variable name {name:?} is empty or contains `=`")]
    BadEnvName {
        /// The name, lossily decoded.
        name: String,
    },
    /// A mount was refused.
    #[error(transparent)]
    Mount(#[from] MountError),
}

/// Everything the WASI functions of one context read and change.
#[derive(Debug)]
pub(crate) struct WasiState {
    pub args: Vec<Vec<u8>>,
    /// `NAME=value` strings, as `environ_get` hands them out.
    pub env: Vec<Vec<u8>>,
    /// Indexed by descriptor number; `None` once closed.
    pub fds: Vec<Option<FdEntry>>,
    /// Zero of the guest's monotonic clock: the guest sees time since its
    /// context was created, not the host's uptime.
    pub monotonic_base: Instant,
    /// When the Faaslet's time is up: blocking calls (`poll_oneoff`) do
    /// not wait past it.
    pub deadline: Option<Instant>,
    /// Set by a call that must end the guest rather than return an errno
    /// (a deadline passed while it waited); raised by the dispatcher.
    pub pending_trap: Option<faasm_runtime::Trap>,
}

/// A WASI context: shared by every function [`add_to_linker`] defines.
/// Cheap to clone (the state is behind `Arc<Mutex>`).
///
/// [`add_to_linker`]: super::add_to_linker
#[derive(Debug, Clone)]
pub struct WasiCtx {
    pub(crate) state: Arc<Mutex<WasiState>>,
}

impl WasiCtx {
    /// A builder with no arguments, environment, mounts or stdio (stdin
    /// empty, stdout and stderr discarded).
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::default()
    }

    #[cfg(test)]
    pub(crate) fn lock(&self) -> MutexGuard<'_, WasiState> {
        lock(&self.state)
    }
}

pub(crate) fn lock(state: &Mutex<WasiState>) -> MutexGuard<'_, WasiState> {
    // Host functions do not panic while holding the lock; if one ever did,
    // the state is still consistent field by field, so carry on.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Configures a [`WasiCtx`]. By default: no arguments, empty environment,
/// stdin at end of file, stdout and stderr discarded.
#[derive(Debug, Default)]
pub struct WasiCtxBuilder {
    args: Vec<Vec<u8>>,
    env: Vec<(Vec<u8>, Vec<u8>)>,
    stdin: InputSource,
    stdout: OutputSink,
    stderr: OutputSink,
    /// Checked when added; the first error is reported by `build`.
    mounts: Vec<Result<Preopen, MountError>>,
    deadline: Option<Instant>,
}

impl WasiCtxBuilder {
    /// Appends one argument (the first is the program name, `argv[0]`).
    pub fn arg(mut self, arg: impl Into<Vec<u8>>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments in order (see [`WasiCtxBuilder::arg`]).
    pub fn args<I, A>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<Vec<u8>>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable (a later value for the same name wins).
    pub fn env(mut self, name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        let name = name.into();
        self.env.retain(|(n, _)| *n != name);
        self.env.push((name, value.into()));
        self
    }

    /// Sets where the guest's stdin reads from.
    pub fn stdin(mut self, input: InputSource) -> Self {
        self.stdin = input;
        self
    }

    /// Gives the guest these bytes on stdin, then end of file.
    pub fn stdin_bytes(self, data: impl Into<Vec<u8>>) -> Self {
        self.stdin(InputSource::bytes(data))
    }

    /// Gives the guest the host process's stdin.
    pub fn inherit_stdin(self) -> Self {
        self.stdin(InputSource::HostStdin)
    }

    /// Sets where the guest's stdout goes.
    pub fn stdout(mut self, sink: OutputSink) -> Self {
        self.stdout = sink;
        self
    }

    /// Sets where the guest's stderr goes.
    pub fn stderr(mut self, sink: OutputSink) -> Self {
        self.stderr = sink;
        self
    }

    /// Captures the guest's stdout in `pipe`.
    pub fn stdout_pipe(self, pipe: OutputPipe) -> Self {
        self.stdout(OutputSink::Pipe(pipe))
    }

    /// Captures the guest's stderr in `pipe`.
    pub fn stderr_pipe(self, pipe: OutputPipe) -> Self {
        self.stderr(OutputSink::Pipe(pipe))
    }

    /// Sends the guest's stdout to the host process's stdout.
    pub fn inherit_stdout(self) -> Self {
        self.stdout(OutputSink::HostStdout)
    }

    /// Sends the guest's stderr to the host process's stderr.
    pub fn inherit_stderr(self) -> Self {
        self.stderr(OutputSink::HostStderr)
    }

    /// The host's stdin, stdout and stderr.
    pub fn inherit_stdio(self) -> Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// Preopens the host directory `host` read-write as `guest` (the next
    /// descriptor from 3 up, in call order).
    pub fn preopen_dir(self, host: impl Into<PathBuf>, guest: impl Into<String>) -> Self {
        self.mount(Mount::dir(host, guest))
    }

    /// Preopens a (possibly layered, possibly read-only) [`Mount`].
    pub fn mount(mut self, mount: Mount) -> Self {
        self.mounts.push(mount.check());
        self
    }

    /// Preopens a mount checked before ([`Mount::check`]).
    pub fn preopen(mut self, preopen: &Preopen) -> Self {
        self.mounts.push(Ok(preopen.clone()));
        self
    }

    /// The call's wall-clock deadline: a guest sleeping in `poll_oneoff`
    /// past it is ended with a trap saying "deadline passed while waiting"
    /// (compiled code is stopped by the runtime's interrupt instead).
    pub fn deadline(mut self, at: Instant) -> Self {
        self.deadline = Some(at);
        self
    }

    /// The context, once every argument, variable and mount is checked.
    pub fn build(self) -> Result<WasiCtx, WasiCtxError> {
        if let Some(index) = self.args.iter().position(|a| a.contains(&0)) {
            return Err(WasiCtxError::NulInArg { index });
        }
        let mut env = Vec::with_capacity(self.env.len());
        for (index, (name, value)) in self.env.into_iter().enumerate() {
            if name.is_empty() || name.contains(&b'=') {
                return Err(WasiCtxError::BadEnvName {
                    name: String::from_utf8_lossy(&name).into_owned(),
                });
            }
            if name.contains(&0) || value.contains(&0) {
                return Err(WasiCtxError::NulInEnv { index });
            }
            let mut entry = name;
            entry.push(b'=');
            entry.extend_from_slice(&value);
            env.push(entry);
        }
        let mut fds = vec![
            Some(FdEntry::Input(self.stdin)),
            Some(FdEntry::Output(self.stdout)),
            Some(FdEntry::Output(self.stderr)),
        ];
        for m in self.mounts {
            fds.push(Some(FdEntry::Dir(OpenDir::preopen(m?.0))));
        }
        let state = WasiState {
            args: self.args,
            env,
            fds,
            monotonic_base: Instant::now(),
            deadline: self.deadline,
            pending_trap: None,
        };
        Ok(WasiCtx {
            state: Arc::new(Mutex::new(state)),
        })
    }
}

/// The descriptor table.
impl WasiState {
    pub fn fd(&self, fd: u32) -> Option<&FdEntry> {
        self.fds.get(fd as usize)?.as_ref()
    }

    pub fn fd_mut(&mut self, fd: u32) -> Option<&mut FdEntry> {
        self.fds.get_mut(fd as usize)?.as_mut()
    }

    /// The directory `fd` refers to: `EBADF` if none is open there,
    /// `ENOTDIR` if it is something else.
    pub fn dir(&self, fd: u32) -> Result<&OpenDir, Errno> {
        match self.fd(fd) {
            Some(FdEntry::Dir(d)) => Ok(d),
            Some(_) => Err(Errno::Notdir),
            None => Err(Errno::Badf),
        }
    }

    /// Puts `entry` in the lowest free slot from 3 up.
    pub fn insert(&mut self, entry: FdEntry) -> Result<u32, Errno> {
        let free = (3..self.fds.len()).find(|&i| self.fds[i].is_none());
        let index = match free {
            Some(i) => i,
            None if self.fds.len() < MAX_FDS => {
                self.fds.push(None);
                self.fds.len() - 1
            }
            None => return Err(Errno::Mfile),
        };
        self.fds[index] = Some(entry);
        // index < MAX_FDS, far below u32::MAX.
        Ok(index as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_rejects_nul_and_bad_names() {
        assert_eq!(
            WasiCtx::builder()
                .arg("ok")
                .arg("a\0b")
                .build()
                .unwrap_err(),
            WasiCtxError::NulInArg { index: 1 }
        );
        assert_eq!(
            WasiCtx::builder().env("A", "x\0").build().unwrap_err(),
            WasiCtxError::NulInEnv { index: 0 }
        );
        assert!(matches!(
            WasiCtx::builder().env("A=B", "x").build(),
            Err(WasiCtxError::BadEnvName { .. })
        ));
        assert!(matches!(
            WasiCtx::builder().env("", "x").build(),
            Err(WasiCtxError::BadEnvName { .. })
        ));
    }

    #[test]
    fn env_is_flattened_and_last_value_wins() {
        let ctx = WasiCtx::builder()
            .env("A", "1")
            .env("B", "")
            .env("A", "2=3")
            .build()
            .unwrap();
        assert_eq!(ctx.lock().env, vec![b"B=".to_vec(), b"A=2=3".to_vec()]);
    }

    #[test]
    fn standard_descriptors_exist() {
        let ctx = WasiCtx::builder().build().unwrap();
        let st = ctx.lock();
        assert!(matches!(st.fd(0), Some(FdEntry::Input(InputSource::Empty))));
        assert!(matches!(st.fd(1), Some(FdEntry::Output(OutputSink::Null))));
        assert!(matches!(st.fd(2), Some(FdEntry::Output(OutputSink::Null))));
        assert!(st.fd(3).is_none());
        assert!(st.fd(u32::MAX).is_none());
    }

    #[test]
    fn a_checked_mount_is_shared_and_a_bad_one_fails_the_build() {
        let dir = faasm_testutil::TempDir::new("preopen");
        let preopen = Mount::dir(dir.path(""), "/").check().unwrap();
        for _ in 0..2 {
            let ctx = WasiCtx::builder().preopen(&preopen).build().unwrap();
            let st = ctx.lock();
            match st.fd(3) {
                Some(FdEntry::Dir(d)) => assert!(std::sync::Arc::ptr_eq(&d.vfs, &preopen.0)),
                _ => panic!("fd 3 is not the preopened directory"),
            }
        }
        let missing = Mount::dir(dir.path("missing"), "/m");
        assert!(missing.check().is_err());
        let err = WasiCtx::builder().mount(missing).build().unwrap_err();
        assert!(matches!(err, WasiCtxError::Mount(_)), "{err}");
    }
}
