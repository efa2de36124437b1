//! `clock_res_get` and `clock_time_get`: wall-clock and monotonic time in
//! nanoseconds.

use super::ctx::WasiState;
use crate::errno::Errno;
use crate::memory::GuestMemory;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// `clockid` values of WASI preview 1.
pub const CLOCK_REALTIME: u32 = 0;
pub const CLOCK_MONOTONIC: u32 = 1;
pub const CLOCK_PROCESS_CPUTIME: u32 = 2;
pub const CLOCK_THREAD_CPUTIME: u32 = 3;

/// Which host clock backs a guest clock id. CPU-time clocks are refused:
/// the host process runs many Faaslets, so its CPU time is nobody's in
/// particular and would leak other tenants' activity.
fn host_clock(id: u32) -> Result<rustix::time::ClockId, Errno> {
    match id {
        CLOCK_REALTIME => Ok(rustix::time::ClockId::Realtime),
        CLOCK_MONOTONIC => Ok(rustix::time::ClockId::Monotonic),
        CLOCK_PROCESS_CPUTIME | CLOCK_THREAD_CPUTIME => Err(Errno::Notsup),
        _ => Err(Errno::Inval),
    }
}

fn nanos(d: std::time::Duration) -> Result<u64, Errno> {
    u64::try_from(d.as_nanos()).map_err(|_| Errno::Overflow)
}

pub fn clock_res_get(
    _st: &WasiState,
    mem: &mut GuestMemory<'_>,
    id: u32,
    out: u32,
) -> Result<(), Errno> {
    let ts = rustix::time::clock_getres(host_clock(id)?);
    let res = (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
        // A resolution of 0 would tell the guest time never advances.
        .max(1);
    mem.write_u64(out, res)
}

/// `precision` is a hint the host may ignore; we always read the clock
/// exactly.
pub fn clock_time_get(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    id: u32,
    _precision: u64,
    out: u32,
) -> Result<(), Errno> {
    host_clock(id)?;
    mem.check(out, 8)?;
    let now = match id {
        CLOCK_REALTIME => nanos(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_err(|_| Errno::Overflow)?,
        )?,
        // Time since this context was created: monotonic, and it does not
        // reveal how long the host has been up.
        _ => nanos(Instant::now().duration_since(st.monotonic_base))?,
    };
    mem.write_u64(out, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::WasiCtx;

    #[test]
    fn clocks_tick_and_bad_ids_fail() {
        let ctx = WasiCtx::builder().build().unwrap();
        let st = ctx.lock();
        let mut bytes = vec![0u8; 64];
        let mut mem = GuestMemory::new(&mut bytes);

        clock_time_get(&st, &mut mem, CLOCK_REALTIME, 0, 0).unwrap();
        let real = mem.read_u64(0).unwrap();
        let host = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        assert!(
            real <= host && host - real < 5_000_000_000,
            "realtime {real} vs host {host}"
        );

        clock_time_get(&st, &mut mem, CLOCK_MONOTONIC, 0, 8).unwrap();
        let t1 = mem.read_u64(8).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        clock_time_get(&st, &mut mem, CLOCK_MONOTONIC, 0, 8).unwrap();
        let t2 = mem.read_u64(8).unwrap();
        assert!(t2 >= t1 + 2_000_000, "monotonic went {t1} -> {t2}");

        clock_res_get(&st, &mut mem, CLOCK_MONOTONIC, 16).unwrap();
        let res = mem.read_u64(16).unwrap();
        assert!((1..=1_000_000).contains(&res), "resolution {res}");

        assert_eq!(
            clock_time_get(&st, &mut mem, CLOCK_PROCESS_CPUTIME, 0, 0),
            Err(Errno::Notsup)
        );
        assert_eq!(clock_time_get(&st, &mut mem, 4, 0, 0), Err(Errno::Inval));
        assert_eq!(clock_res_get(&st, &mut mem, 99, 0), Err(Errno::Inval));
        assert_eq!(
            clock_time_get(&st, &mut mem, CLOCK_REALTIME, 0, 60),
            Err(Errno::Fault)
        );
        assert_eq!(
            clock_res_get(&st, &mut mem, CLOCK_REALTIME, 57),
            Err(Errno::Fault)
        );
    }
}
