//! WASI preview 1 error numbers (`errno` in the witx spec, a `u16` on the
//! wire but returned to wasm as an `i32`). The numbering is the spec's, not
//! the host's: never pass a host `errno` through unmapped.

/// Every error value of WASI preview 1, with the spec's numbering.
/// `success` (0) is not an error: functions return `Result<(), Errno>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[repr(u16)]
pub enum Errno {
    /// `E2BIG` (1): argument list too long.
    #[error("argument list too long")]
    TooBig = 1,
    /// `EACCES` (2): permission denied.
    #[error("permission denied")]
    Acces = 2,
    /// `EADDRINUSE` (3): address in use.
    #[error("address in use")]
    Addrinuse = 3,
    /// `EADDRNOTAVAIL` (4): address not available.
    #[error("address not available")]
    Addrnotavail = 4,
    /// `EAFNOSUPPORT` (5): address family not supported.
    #[error("address family not supported")]
    Afnosupport = 5,
    /// `EAGAIN` (6): resource unavailable, or operation would block.
    #[error("resource unavailable, or operation would block")]
    Again = 6,
    /// `EALREADY` (7): connection already in progress.
    #[error("connection already in progress")]
    Already = 7,
    /// `EBADF` (8): bad file descriptor.
    #[error("bad file descriptor")]
    Badf = 8,
    /// `EBADMSG` (9): bad message.
    #[error("bad message")]
    Badmsg = 9,
    /// `EBUSY` (10): device or resource busy.
    #[error("device or resource busy")]
    Busy = 10,
    /// `ECANCELED` (11): operation canceled.
    #[error("operation canceled")]
    Canceled = 11,
    /// `ECHILD` (12): no child processes.
    #[error("no child processes")]
    Child = 12,
    /// `ECONNABORTED` (13): connection aborted.
    #[error("connection aborted")]
    Connaborted = 13,
    /// `ECONNREFUSED` (14): connection refused.
    #[error("connection refused")]
    Connrefused = 14,
    /// `ECONNRESET` (15): connection reset.
    #[error("connection reset")]
    Connreset = 15,
    /// `EDEADLK` (16): resource deadlock would occur.
    #[error("resource deadlock would occur")]
    Deadlk = 16,
    /// `EDESTADDRREQ` (17): destination address required.
    #[error("destination address required")]
    Destaddrreq = 17,
    /// `EDOM` (18): mathematics argument out of domain of function.
    #[error("mathematics argument out of domain of function")]
    Dom = 18,
    /// `EDQUOT` (19): reserved (dquot).
    #[error("reserved (dquot)")]
    Dquot = 19,
    /// `EEXIST` (20): file exists.
    #[error("file exists")]
    Exist = 20,
    /// `EFAULT` (21): bad address.
    #[error("bad address")]
    Fault = 21,
    /// `EFBIG` (22): file too large.
    #[error("file too large")]
    Fbig = 22,
    /// `EHOSTUNREACH` (23): host is unreachable.
    #[error("host is unreachable")]
    Hostunreach = 23,
    /// `EIDRM` (24): identifier removed.
    #[error("identifier removed")]
    Idrm = 24,
    /// `EILSEQ` (25): illegal byte sequence.
    #[error("illegal byte sequence")]
    Ilseq = 25,
    /// `EINPROGRESS` (26): operation in progress.
    #[error("operation in progress")]
    Inprogress = 26,
    /// `EINTR` (27): interrupted function.
    #[error("interrupted function")]
    Intr = 27,
    /// `EINVAL` (28): invalid argument.
    #[error("invalid argument")]
    Inval = 28,
    /// `EIO` (29): I/O error.
    #[error("I/O error")]
    Io = 29,
    /// `EISCONN` (30): socket is connected.
    #[error("socket is connected")]
    Isconn = 30,
    /// `EISDIR` (31): is a directory.
    #[error("is a directory")]
    Isdir = 31,
    /// `ELOOP` (32): too many levels of symbolic links.
    #[error("too many levels of symbolic links")]
    Loop = 32,
    /// `EMFILE` (33): file descriptor value too large.
    #[error("file descriptor value too large")]
    Mfile = 33,
    /// `EMLINK` (34): too many links.
    #[error("too many links")]
    Mlink = 34,
    /// `EMSGSIZE` (35): message too large.
    #[error("message too large")]
    Msgsize = 35,
    /// `EMULTIHOP` (36): reserved (multihop).
    #[error("reserved (multihop)")]
    Multihop = 36,
    /// `ENAMETOOLONG` (37): filename too long.
    #[error("filename too long")]
    Nametoolong = 37,
    /// `ENETDOWN` (38): network is down.
    #[error("network is down")]
    Netdown = 38,
    /// `ENETRESET` (39): connection aborted by network.
    #[error("connection aborted by network")]
    Netreset = 39,
    /// `ENETUNREACH` (40): network unreachable.
    #[error("network unreachable")]
    Netunreach = 40,
    /// `ENFILE` (41): too many files open in system.
    #[error("too many files open in system")]
    Nfile = 41,
    /// `ENOBUFS` (42): no buffer space available.
    #[error("no buffer space available")]
    Nobufs = 42,
    /// `ENODEV` (43): no such device.
    #[error("no such device")]
    Nodev = 43,
    /// `ENOENT` (44): no such file or directory.
    #[error("no such file or directory")]
    Noent = 44,
    /// `ENOEXEC` (45): executable file format error.
    #[error("executable file format error")]
    Noexec = 45,
    /// `ENOLCK` (46): no locks available.
    #[error("no locks available")]
    Nolck = 46,
    /// `ENOLINK` (47): reserved (nolink).
    #[error("reserved (nolink)")]
    Nolink = 47,
    /// `ENOMEM` (48): not enough space.
    #[error("not enough space")]
    Nomem = 48,
    /// `ENOMSG` (49): no message of the desired type.
    #[error("no message of the desired type")]
    Nomsg = 49,
    /// `ENOPROTOOPT` (50): protocol not available.
    #[error("protocol not available")]
    Noprotoopt = 50,
    /// `ENOSPC` (51): no space left on device.
    #[error("no space left on device")]
    Nospc = 51,
    /// `ENOSYS` (52): function not supported.
    #[error("function not supported")]
    Nosys = 52,
    /// `ENOTCONN` (53): the socket is not connected.
    #[error("the socket is not connected")]
    Notconn = 53,
    /// `ENOTDIR` (54): not a directory or a symbolic link to a directory.
    #[error("not a directory or a symbolic link to a directory")]
    Notdir = 54,
    /// `ENOTEMPTY` (55): directory not empty.
    #[error("directory not empty")]
    Notempty = 55,
    /// `ENOTRECOVERABLE` (56): state not recoverable.
    #[error("state not recoverable")]
    Notrecoverable = 56,
    /// `ENOTSOCK` (57): not a socket.
    #[error("not a socket")]
    Notsock = 57,
    /// `ENOTSUP` (58): not supported, or operation not supported on socket.
    #[error("not supported, or operation not supported on socket")]
    Notsup = 58,
    /// `ENOTTY` (59): inappropriate I/O control operation.
    #[error("inappropriate I/O control operation")]
    Notty = 59,
    /// `ENXIO` (60): no such device or address.
    #[error("no such device or address")]
    Nxio = 60,
    /// `EOVERFLOW` (61): value too large to be stored in data type.
    #[error("value too large to be stored in data type")]
    Overflow = 61,
    /// `EOWNERDEAD` (62): previous owner died.
    #[error("previous owner died")]
    Ownerdead = 62,
    /// `EPERM` (63): operation not permitted.
    #[error("operation not permitted")]
    Perm = 63,
    /// `EPIPE` (64): broken pipe.
    #[error("broken pipe")]
    Pipe = 64,
    /// `EPROTO` (65): protocol error.
    #[error("protocol error")]
    Proto = 65,
    /// `EPROTONOSUPPORT` (66): protocol not supported.
    #[error("protocol not supported")]
    Protonosupport = 66,
    /// `EPROTOTYPE` (67): protocol wrong type for socket.
    #[error("protocol wrong type for socket")]
    Prototype = 67,
    /// `ERANGE` (68): result too large.
    #[error("result too large")]
    Range = 68,
    /// `EROFS` (69): read-only file system.
    #[error("read-only file system")]
    Rofs = 69,
    /// `ESPIPE` (70): invalid seek.
    #[error("invalid seek")]
    Spipe = 70,
    /// `ESRCH` (71): no such process.
    #[error("no such process")]
    Srch = 71,
    /// `ESTALE` (72): reserved (stale).
    #[error("reserved (stale)")]
    Stale = 72,
    /// `ETIMEDOUT` (73): connection timed out.
    #[error("connection timed out")]
    Timedout = 73,
    /// `ETXTBSY` (74): text file busy.
    #[error("text file busy")]
    Txtbsy = 74,
    /// `EXDEV` (75): cross-device link.
    #[error("cross-device link")]
    Xdev = 75,
    /// `ENOTCAPABLE` (76): extension: capabilities insufficient.
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
