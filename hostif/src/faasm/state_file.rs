//! `__faasm_write_state_from_file(key, path) -> u32`: stores the contents
//! of the guest's file `path` (looked up as the guest would open it, see
//! [`WasiCtx::read_guest_file`]) as the value of `key`, and returns its
//! size.

use super::FaasmError;
use super::state::StateStore;
use crate::wasi::WasiCtx;

const CALL: &str = "__faasm_write_state_from_file";

/// Reads `path` for `user` and writes it to `key` (local tier, pushed to
/// the global one). `limit` bounds the file's size before it is read: the
/// value could not be larger than the user's state limit anyway.
pub(crate) fn write_state_from_file(
    store: &StateStore,
    wasi: Option<&WasiCtx>,
    user: &str,
    key: &str,
    path: &str,
    limit: u64,
    deadline: Option<std::time::Instant>,
) -> Result<i32, FaasmError> {
    let wasi = wasi.ok_or(FaasmError::NoFilesystem { call: CALL })?;
    let bytes = wasi
        .read_guest_file(path, limit)
        .map_err(|errno| FaasmError::GuestFile {
            call: CALL,
            path: path.to_string(),
            errno,
        })?;
    store.set(CALL, user, key, &bytes)?;
    store.push(CALL, user, key, deadline)?;
    // At most `limit`, which the caller keeps below 2 GiB.
    Ok(i32::try_from(bytes.len()).unwrap_or(i32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> std::path::PathBuf {
        faasm_testutil::scratch_dir(&format!("state-file-{tag}"))
    }

    #[test]
    fn stores_the_file_and_returns_its_size() {
        let dir = scratch("ok");
        std::fs::write(dir.join("in.txt"), b"file contents").unwrap();
        let wasi = WasiCtx::builder()
            .preopen_dir(&dir, "/data")
            .build()
            .unwrap();
        let store = StateStore::new(1 << 20);
        let n = write_state_from_file(&store, Some(&wasi), "u", "k", "/data/in.txt", 100, None)
            .unwrap();
        assert_eq!(n, 13);
        assert_eq!(store.get("u", "k").unwrap(), b"file contents");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_path_and_leave_the_value() {
        let dir = scratch("err");
        std::fs::write(dir.join("big"), [0u8; 64]).unwrap();
        let wasi = WasiCtx::builder()
            .preopen_dir(&dir, "/data")
            .build()
            .unwrap();
        let store = StateStore::new(1 << 20);
        store.set("c", "u", "k", b"old").unwrap();
        let e = write_state_from_file(&store, Some(&wasi), "u", "k", "/data/missing", 100, None)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "__faasm_write_state_from_file: cannot read \"/data/missing\": no such file or directory"
        );
        let e = write_state_from_file(&store, Some(&wasi), "u", "k", "/data/big", 63, None)
            .unwrap_err();
        assert!(
            matches!(
                e,
                FaasmError::GuestFile {
                    errno: crate::Errno::Fbig,
                    ..
                }
            ),
            "{e}"
        );
        let e = write_state_from_file(&store, None, "u", "k", "/data/big", 100, None).unwrap_err();
        assert_eq!(e, FaasmError::NoFilesystem { call: CALL });
        assert_eq!(store.get("u", "k").unwrap(), b"old");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
