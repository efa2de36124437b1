//! The function store under `$FAASM_HOME` (default `~/.faasm`):
//!
//! ```text
//! functions/<user>/<func>/function.wasm    the uploaded module, for reference
//! functions/<user>/<func>/function.faasm   its compiled artifact (what runs)
//! functions/<user>/<func>/function.snap    its Proto-Faaslet (snapshot after init)
//! users/<user>/fs/                         the user's private writable tree
//! shared/fs/                               the read-only tree every user sees
//! ```

use faasm_runtime::{ArtifactError, Engine, Error, Module};
use std::path::{Path, PathBuf};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "invalid {kind} name {name:?}: use letters, digits, `_`, `.` and `-` (not `.` or `..`)"
    )]
    InvalidName { kind: &'static str, name: String },
    #[error("invalid function {0:?}: expected USER/FUNCTION")]
    InvalidFunction(String),
    #[error("unknown function {user}/{func}")]
    NotFound { user: String, func: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot compile {user}/{func}: {source}")]
    Compile {
        user: String,
        func: String,
        source: Box<faasm_runtime::Error>,
    },
    #[error("cannot load {user}/{func}: {source}")]
    Load {
        user: String,
        func: String,
        source: Box<faasm_runtime::Error>,
    },
    #[error(
        "cannot upload {user}/{func}: it imports `wasi`.`thread-spawn`, and the executor runs no \
         wasi-threads guests (run it with `faasm-run FILE`, or chain calls for parallelism)"
    )]
    ThreadsGuest { user: String, func: String },
    #[error("neither $FAASM_HOME nor $HOME is set")]
    NoHome,
}

/// Checks one path component of a user or function name.
pub fn validate_name(kind: &'static str, name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidName {
            kind,
            name: name.to_string(),
        })
    }
}

/// Splits `user/func`, validating both names.
pub fn parse_function(s: &str) -> Result<(String, String), StoreError> {
    let (user, func) = s
        .split_once('/')
        .ok_or_else(|| StoreError::InvalidFunction(s.to_string()))?;
    validate_name("user", user)?;
    validate_name("function", func)?;
    Ok((user.to_string(), func.to_string()))
}

/// What `upload` stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFunction {
    pub wasm: PathBuf,
    pub artifact: PathBuf,
    pub artifact_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct FunctionStore {
    home: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes through a temporary file and a rename, so a concurrent reader
/// never sees half an artifact.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

impl FunctionStore {
    pub fn new(home: impl Into<PathBuf>) -> FunctionStore {
        FunctionStore { home: home.into() }
    }

    /// `$FAASM_HOME`, else `$HOME/.faasm`.
    pub fn from_env() -> Result<FunctionStore, StoreError> {
        if let Some(h) = std::env::var_os("FAASM_HOME").filter(|h| !h.is_empty()) {
            return Ok(FunctionStore::new(h));
        }
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .ok_or(StoreError::NoHome)?;
        Ok(FunctionStore::new(Path::new(&home).join(".faasm")))
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    fn function_dir(&self, user: &str, func: &str) -> Result<PathBuf, StoreError> {
        validate_name("user", user)?;
        validate_name("function", func)?;
        Ok(self.home.join("functions").join(user).join(func))
    }

    /// The user's private writable tree (created if missing).
    pub fn user_fs(&self, user: &str) -> Result<PathBuf, StoreError> {
        validate_name("user", user)?;
        let dir = self.home.join("users").join(user).join("fs");
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        Ok(dir)
    }

    /// The read-only tree shared by all users (created if missing).
    pub fn shared_fs(&self) -> Result<PathBuf, StoreError> {
        let dir = self.home.join("shared").join("fs");
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        Ok(dir)
    }

    /// Compiles `wasm` and stores it and its artifact.
    pub fn upload(
        &self,
        engine: &Engine,
        user: &str,
        func: &str,
        wasm: &[u8],
    ) -> Result<StoredFunction, StoreError> {
        let dir = self.function_dir(user, func)?;
        let name = format!("{user}/{func}");
        let module =
            Module::new_named(engine, wasm, &name).map_err(|source| StoreError::Compile {
                user: user.to_string(),
                func: func.to_string(),
                source: Box::new(source),
            })?;
        // Refused here rather than at its first call, where it would fail
        // with an unknown import.
        if faasm_hostif::threads::wants_threads(&module) {
            return Err(StoreError::ThreadsGuest {
                user: user.to_string(),
                func: func.to_string(),
            });
        }
        let artifact = module.serialize();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let wasm_path = dir.join("function.wasm");
        let artifact_path = dir.join("function.faasm");
        // A snapshot of the previous upload no longer applies.
        let _ = std::fs::remove_file(dir.join("function.snap"));
        write_atomic(&wasm_path, wasm)?;
        write_atomic(&artifact_path, &artifact)?;
        Ok(StoredFunction {
            wasm: wasm_path,
            artifact: artifact_path,
            artifact_bytes: artifact.len(),
        })
    }

    /// Loads a stored function's artifact.
    pub fn load(&self, engine: &Engine, user: &str, func: &str) -> Result<Module, StoreError> {
        self.load_with_fingerprint(engine, user, func)
            .map(|(m, _)| m)
    }

    /// As [`FunctionStore::load`], with the fingerprint of the artifact
    /// that was loaded (what binds its snapshot to it).
    pub fn load_with_fingerprint(
        &self,
        engine: &Engine,
        user: &str,
        func: &str,
    ) -> Result<(Module, [u8; 32]), StoreError> {
        let path = self.function_dir(user, func)?.join("function.faasm");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound {
                    user: user.to_string(),
                    func: func.to_string(),
                });
            }
            Err(e) => return Err(io(&path)(e)),
        };
        let load_err = |source| StoreError::Load {
            user: user.to_string(),
            func: func.to_string(),
            source: Box::new(source),
        };
        // What profilers call the function's code.
        let name = format!("{user}/{func}");
        match Module::from_artifact_named(engine, &bytes, &name) {
            Ok(m) => Ok((m, faasm_snapshot::fingerprint(&bytes))),
            // Not tagged with this installation's key, or made by another
            // compiler version: never run it, rebuild it from the stored
            // module instead (and keep the rebuilt artifact).
            Err(Error::Artifact(
                ArtifactError::Unauthenticated
                | ArtifactError::Version { .. }
                | ArtifactError::Target { .. },
            )) => {
                let wasm_path = path.with_file_name("function.wasm");
                let wasm = std::fs::read(&wasm_path).map_err(io(&wasm_path))?;
                let module = Module::new_named(engine, &wasm, &name).map_err(load_err)?;
                let artifact = module.serialize();
                // Best effort: a read-only store still runs the function.
                let _ = write_atomic(&path, &artifact);
                Ok((module, faasm_snapshot::fingerprint(&artifact)))
            }
            Err(e) => Err(load_err(e)),
        }
    }

    /// The stored snapshot of a function, if there is one.
    pub fn read_snapshot(&self, user: &str, func: &str) -> Option<Vec<u8>> {
        std::fs::read(self.function_dir(user, func).ok()?.join("function.snap")).ok()
    }

    /// Stores a function's snapshot (atomically) beside its artifact.
    pub fn write_snapshot(&self, user: &str, func: &str, bytes: &[u8]) -> Result<(), StoreError> {
        write_atomic(&self.function_dir(user, func)?.join("function.snap"), bytes)
    }

    /// Deletes a stored function (its module, artifact and snapshot).
    pub fn remove(&self, user: &str, func: &str) -> Result<(), StoreError> {
        let dir = self.function_dir(user, func)?;
        if !dir.join("function.faasm").is_file() {
            return Err(StoreError::NotFound {
                user: user.to_string(),
                func: func.to_string(),
            });
        }
        std::fs::remove_dir_all(&dir).map_err(io(&dir))
    }

    /// Every stored `(user, function)`, sorted.
    pub fn list(&self) -> Result<Vec<(String, String)>, StoreError> {
        let root = self.home.join("functions");
        let mut out = Vec::new();
        let users = match std::fs::read_dir(&root) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io(&root)(e)),
        };
        for user in users {
            let user = user.map_err(io(&root))?;
            let Ok(user_name) = user.file_name().into_string() else {
                continue;
            };
            let funcs = std::fs::read_dir(user.path()).map_err(io(&user.path()))?;
            for func in funcs {
                let func = func.map_err(io(&user.path()))?;
                if let Ok(func_name) = func.file_name().into_string()
                    && func.path().join("function.faasm").is_file()
                {
                    out.push((user_name.clone(), func_name));
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        for ok in ["a", "A-b_c.d", "x1", "..a", "a.."] {
            validate_name("user", ok).unwrap();
        }
        for bad in ["", ".", "..", "a/b", "a b", "é", "a\0"] {
            assert!(validate_name("user", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_function("alice/echo").unwrap(),
            ("alice".to_string(), "echo".to_string())
        );
        for bad in ["alice", "alice/", "/echo", "a/b/c", "../x", "a/.."] {
            assert!(parse_function(bad).is_err(), "{bad:?}");
        }
    }
}
