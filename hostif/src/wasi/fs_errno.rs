//! Host I/O errors as WASI errnos. WASI numbers differ from Linux's, so
//! every host error is translated by name, never passed through.

use crate::errno::Errno;
use rustix::io::Errno as Host;

pub(crate) fn io_errno(e: &std::io::Error) -> Errno {
    let Some(code) = e.raw_os_error() else {
        // Errors made up by std itself (not from a syscall).
        return match e.kind() {
            std::io::ErrorKind::NotFound => Errno::Noent,
            std::io::ErrorKind::BrokenPipe => Errno::Pipe,
            std::io::ErrorKind::Interrupted => Errno::Intr,
            std::io::ErrorKind::WouldBlock => Errno::Again,
            std::io::ErrorKind::InvalidInput => Errno::Inval,
            std::io::ErrorKind::UnexpectedEof => Errno::Io,
            _ => Errno::Io,
        };
    };
    match Host::from_raw_os_error(code) {
        Host::NOENT => Errno::Noent,
        Host::EXIST => Errno::Exist,
        Host::NOTDIR => Errno::Notdir,
        Host::ISDIR => Errno::Isdir,
        Host::NOTEMPTY => Errno::Notempty,
        Host::ACCESS => Errno::Acces,
        Host::PERM => Errno::Perm,
        Host::LOOP => Errno::Loop,
        Host::NOSPC => Errno::Nospc,
        Host::DQUOT => Errno::Dquot,
        Host::ROFS => Errno::Rofs,
        Host::XDEV => Errno::Xdev,
        Host::NAMETOOLONG => Errno::Nametoolong,
        Host::INVAL => Errno::Inval,
        Host::BADF => Errno::Badf,
        Host::FBIG => Errno::Fbig,
        Host::MFILE => Errno::Mfile,
        Host::NFILE => Errno::Nfile,
        Host::BUSY => Errno::Busy,
        Host::TXTBSY => Errno::Txtbsy,
        Host::SPIPE => Errno::Spipe,
        Host::PIPE => Errno::Pipe,
        Host::INTR => Errno::Intr,
        Host::AGAIN => Errno::Again,
        Host::NOMEM => Errno::Nomem,
        Host::OVERFLOW => Errno::Overflow,
        Host::MLINK => Errno::Mlink,
        Host::NXIO => Errno::Nxio,
        Host::NODEV => Errno::Nodev,
        Host::OPNOTSUPP => Errno::Notsup,
        _ => Errno::Io,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_numbers_are_translated() {
        let e = std::io::Error::from_raw_os_error(Host::NOENT.raw_os_error());
        assert_eq!(io_errno(&e), Errno::Noent);
        let e = std::io::Error::from_raw_os_error(Host::NOTEMPTY.raw_os_error());
        assert_eq!(io_errno(&e), Errno::Notempty);
        let e = std::io::Error::from_raw_os_error(Host::ROFS.raw_os_error());
        assert_eq!(io_errno(&e), Errno::Rofs);
        let e = std::io::Error::other("made up");
        assert_eq!(io_errno(&e), Errno::Io);
    }
}
