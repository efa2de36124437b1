//! WASI preview 1 error numbers (`errno` in the witx spec, a `u16` on the
//! wire but returned to wasm as an `i32`). The numbering is the spec's, not
//! the host's: never pass a host `errno` through unmapped.

/// Every error value of WASI preview 1, with the spec's numbering.
/// `success` (0) is not an error: functions return `Result<(), Errno>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[repr(u16)]
pub enum Errno {
    #[error("argument list too long")]
    TooBig = 1,
    #[error("permission denied")]
    Acces = 2,
    #[error("address in use")]
    Addrinuse = 3,
    #[error("address not available")]
    Addrnotavail = 4,
    #[error("address family not supported")]
    Afnosupport = 5,
    #[error("resource unavailable, or operation would block")]
    Again = 6,
    #[error("connection already in progress")]
    Already = 7,
    #[error("bad file descriptor")]
    Badf = 8,
    #[error("bad message")]
    Badmsg = 9,
    #[error("device or resource busy")]
    Busy = 10,
    #[error("operation canceled")]
    Canceled = 11,
    #[error("no child processes")]
    Child = 12,
    #[error("connection aborted")]
    Connaborted = 13,
    #[error("connection refused")]
    Connrefused = 14,
    #[error("connection reset")]
    Connreset = 15,
    #[error("resource deadlock would occur")]
    Deadlk = 16,
    #[error("destination address required")]
    Destaddrreq = 17,
    #[error("mathematics argument out of domain of function")]
    Dom = 18,
    #[error("reserved (dquot)")]
    Dquot = 19,
    #[error("file exists")]
    Exist = 20,
    #[error("bad address")]
    Fault = 21,
    #[error("file too large")]
    Fbig = 22,
    #[error("host is unreachable")]
    Hostunreach = 23,
    #[error("identifier removed")]
    Idrm = 24,
    #[error("illegal byte sequence")]
    Ilseq = 25,
    #[error("operation in progress")]
    Inprogress = 26,
    #[error("interrupted function")]
    Intr = 27,
    #[error("invalid argument")]
    Inval = 28,
    #[error("I/O error")]
    Io = 29,
    #[error("socket is connected")]
    Isconn = 30,
    #[error("is a directory")]
    Isdir = 31,
    #[error("too many levels of symbolic links")]
    Loop = 32,
    #[error("file descriptor value too large")]
    Mfile = 33,
    #[error("too many links")]
    Mlink = 34,
    #[error("message too large")]
    Msgsize = 35,
    #[error("reserved (multihop)")]
    Multihop = 36,
    #[error("filename too long")]
    Nametoolong = 37,
    #[error("network is down")]
    Netdown = 38,
    #[error("connection aborted by network")]
    Netreset = 39,
    #[error("network unreachable")]
    Netunreach = 40,
    #[error("too many files open in system")]
    Nfile = 41,
    #[error("no buffer space available")]
    Nobufs = 42,
    #[error("no such device")]
    Nodev = 43,
    #[error("no such file or directory")]
    Noent = 44,
    #[error("executable file format error")]
    Noexec = 45,
    #[error("no locks available")]
    Nolck = 46,
    #[error("reserved (nolink)")]
    Nolink = 47,
    #[error("not enough space")]
    Nomem = 48,
    #[error("no message of the desired type")]
    Nomsg = 49,
    #[error("protocol not available")]
    Noprotoopt = 50,
    #[error("no space left on device")]
    Nospc = 51,
    #[error("function not supported")]
    Nosys = 52,
    #[error("the socket is not connected")]
    Notconn = 53,
    #[error("not a directory or a symbolic link to a directory")]
    Notdir = 54,
    #[error("directory not empty")]
    Notempty = 55,
    #[error("state not recoverable")]
    Notrecoverable = 56,
    #[error("not a socket")]
    Notsock = 57,
    #[error("not supported, or operation not supported on socket")]
    Notsup = 58,
    #[error("inappropriate I/O control operation")]
    Notty = 59,
    #[error("no such device or address")]
    Nxio = 60,
    #[error("value too large to be stored in data type")]
    Overflow = 61,
    #[error("previous owner died")]
    Ownerdead = 62,
    #[error("operation not permitted")]
    Perm = 63,
    #[error("broken pipe")]
    Pipe = 64,
    #[error("protocol error")]
    Proto = 65,
    #[error("protocol not supported")]
    Protonosupport = 66,
    #[error("protocol wrong type for socket")]
    Prototype = 67,
    #[error("result too large")]
    Range = 68,
    #[error("read-only file system")]
    Rofs = 69,
    #[error("invalid seek")]
    Spipe = 70,
    #[error("no such process")]
    Srch = 71,
    #[error("reserved (stale)")]
    Stale = 72,
    #[error("connection timed out")]
    Timedout = 73,
    #[error("text file busy")]
    Txtbsy = 74,
    #[error("cross-device link")]
    Xdev = 75,
    #[error("extension: capabilities insufficient")]
    Notcapable = 76,
}

impl Errno {
    /// The spec's number for this error.
    pub fn code(self) -> u16 {
        self as u16
    }
}

/// The value a WASI function returns to wasm: 0 for success, else the errno.
pub fn to_wasm(result: Result<(), Errno>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => i32::from(e.code()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_follows_the_spec() {
        // Spot checks across the whole range: a shifted variant would move
        // every later value, so first, middle and last pin the table.
        assert_eq!(Errno::TooBig.code(), 1);
        assert_eq!(Errno::Badf.code(), 8);
        assert_eq!(Errno::Fault.code(), 21);
        assert_eq!(Errno::Inval.code(), 28);
        assert_eq!(Errno::Io.code(), 29);
        assert_eq!(Errno::Noent.code(), 44);
        assert_eq!(Errno::Nosys.code(), 52);
        assert_eq!(Errno::Notsup.code(), 58);
        assert_eq!(Errno::Spipe.code(), 70);
        assert_eq!(Errno::Notcapable.code(), 76);
    }

    #[test]
    fn wasm_return_value() {
        assert_eq!(to_wasm(Ok(())), 0);
        assert_eq!(to_wasm(Err(Errno::Fault)), 21);
        assert_eq!(to_wasm(Err(Errno::Badf)), 8);
    }
}
