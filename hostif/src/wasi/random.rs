//! `random_get`: cryptographically secure bytes from the host kernel.

use super::ctx::WasiState;
use crate::errno::Errno;
use crate::memory::GuestMemory;

pub fn random_get(
    _st: &WasiState,
    mem: &mut GuestMemory<'_>,
    buf: u32,
    len: u32,
) -> Result<(), Errno> {
    let out = mem.slice_mut(buf, len)?;
    // getrandom(2) may return fewer bytes than asked for (large requests,
    // signals): keep going until the buffer is full.
    let mut filled = 0;
    while filled < out.len() {
        match rustix::rand::getrandom(&mut out[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(0) => return Err(Errno::Io),
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return Err(Errno::Io),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::WasiCtx;

    #[test]
    fn fills_exactly_the_buffer() {
        let ctx = WasiCtx::builder().build().unwrap();
        let st = ctx.lock();
        let mut bytes = vec![0u8; 96];
        let mut mem = GuestMemory::new(&mut bytes);
        random_get(&st, &mut mem, 16, 64).unwrap();
        assert_eq!(random_get(&st, &mut mem, 90, 7), Err(Errno::Fault));
        random_get(&st, &mut mem, 96, 0).unwrap();
        assert!(bytes[..16].iter().all(|&b| b == 0));
        assert!(bytes[80..].iter().all(|&b| b == 0));
        // 64 random bytes all zero has probability 2^-512.
        assert!(bytes[16..80].iter().any(|&b| b != 0));
    }
}
