//! WASI file type codes (`filetype`), and the host's file types mapped
//! onto them.

pub const UNKNOWN: u8 = 0;
pub const BLOCK_DEVICE: u8 = 1;
pub const CHARACTER_DEVICE: u8 = 2;
pub const DIRECTORY: u8 = 3;
pub const REGULAR_FILE: u8 = 4;
pub const SOCKET_STREAM: u8 = 6;
pub const SYMBOLIC_LINK: u8 = 7;

/// A host file type as seen through `rustix` (directory listings).
pub fn of_host(t: rustix::fs::FileType) -> u8 {
    use rustix::fs::FileType as T;
    match t {
        T::Directory => DIRECTORY,
        T::RegularFile => REGULAR_FILE,
        T::Symlink => SYMBOLIC_LINK,
        T::CharacterDevice => CHARACTER_DEVICE,
        T::BlockDevice => BLOCK_DEVICE,
        T::Socket => SOCKET_STREAM,
        _ => UNKNOWN,
    }
}

pub fn of(t: std::fs::FileType) -> u8 {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        DIRECTORY
    } else if t.is_file() {
        REGULAR_FILE
    } else if t.is_symlink() {
        SYMBOLIC_LINK
    } else if t.is_char_device() {
        CHARACTER_DEVICE
    } else if t.is_block_device() {
        BLOCK_DEVICE
    } else if t.is_socket() {
        SOCKET_STREAM
    } else {
        UNKNOWN
    }
}
