//! `poll_oneoff`: waiting for clocks, with descriptors always ready.
//!
//! Clock subscriptions (relative or absolute, realtime or monotonic) really
//! sleep the calling thread until the earliest one expires; that is how
//! wasi-libc implements `sleep`/`nanosleep` and Rust `thread::sleep`.
//! Descriptors here are regular files or the standard streams, which never
//! have to be waited for: an fd subscription is reported ready at once
//! (a read on a file with the bytes left before its end), so a poll that
//! includes one does not sleep.

use super::clock::{CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME, CLOCK_REALTIME, CLOCK_THREAD_CPUTIME};
use super::ctx::{FdEntry, WasiState};
use crate::errno::Errno;
use crate::memory::GuestMemory;
use std::io::Seek;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `subscription`: `{userdata u64 @0, tag u8 @8, then @16 either
/// clock {id u32 @16, timeout u64 @24, precision u64 @32, flags u16 @40}
/// or fd_readwrite {fd u32 @16}}`.
pub const SUBSCRIPTION_SIZE: u32 = 48;
/// `event`: `{userdata u64 @0, error u16 @8, type u8 @10,
/// fd_readwrite {nbytes u64 @16, flags u16 @24}}`.
pub const EVENT_SIZE: u32 = 32;

const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;

#[derive(Debug)]
struct Event {
    userdata: u64,
    error: Option<Errno>,
    kind: u8,
    nbytes: u64,
}

impl Event {
    fn encode(&self) -> [u8; EVENT_SIZE as usize] {
        let mut b = [0u8; EVENT_SIZE as usize];
        b[0..8].copy_from_slice(&self.userdata.to_le_bytes());
        let err = self.error.map_or(0, Errno::code);
        b[8..10].copy_from_slice(&err.to_le_bytes());
        b[10] = self.kind;
        b[16..24].copy_from_slice(&self.nbytes.to_le_bytes());
        b
    }
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// When a clock subscription fires, as a host instant (`None`: so far in
/// the future it cannot be represented, i.e. never).
fn deadline(
    st: &WasiState,
    id: u32,
    timeout: u64,
    flags: u16,
    now: Instant,
) -> Result<Option<Instant>, Errno> {
    let absolute = flags & SUBCLOCKFLAGS_ABSTIME != 0;
    let ns = Duration::from_nanos(timeout);
    match id {
        CLOCK_REALTIME | CLOCK_MONOTONIC if !absolute => Ok(now.checked_add(ns)),
        CLOCK_MONOTONIC => Ok(st.monotonic_base.checked_add(ns)),
        CLOCK_REALTIME => {
            let real = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            Ok(now.checked_add(ns.saturating_sub(real)))
        }
        CLOCK_PROCESS_CPUTIME | CLOCK_THREAD_CPUTIME => Err(Errno::Notsup),
        _ => Err(Errno::Inval),
    }
}

/// Bytes left to read from a file descriptor (0 if unknown).
fn readable(st: &WasiState, fd: u32) -> Result<u64, Errno> {
    match st.fd(fd).ok_or(Errno::Badf)? {
        FdEntry::File(f) => {
            let len = f.file.metadata().map(|m| m.len()).unwrap_or(0);
            let pos = (&f.file).stream_position().unwrap_or(len);
            Ok(len.saturating_sub(pos))
        }
        FdEntry::Dir(_) => Err(Errno::Badf),
        FdEntry::Input(_) | FdEntry::Output(_) => Ok(0),
    }
}

/// Ends the guest: its time ran out while it slept. The errno is never
/// seen (the dispatcher raises the trap instead).
fn deadline_passed(st: &mut WasiState) -> Errno {
    st.pending_trap = Some(faasm_runtime::Trap::host_error(
        faasm_runtime::HostErrorKind::DeadlinePassed,
        "WASI poll_oneoff: deadline passed while waiting",
    ));
    Errno::Timedout
}

/// What a poll decided while holding the state: events ready now, clocks
/// to report after sleeping, and how long to sleep.
struct Plan {
    ready: Vec<Event>,
    clocks: Vec<(u64, Option<Instant>)>,
    sleep: Sleep,
}

enum Sleep {
    No,
    Until(Instant),
    /// Until the call's deadline, which ends the guest.
    Deadline(Instant),
    Forever,
}

pub fn poll_oneoff(
    st: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    subs: u32,
    events: u32,
    nsubs: u32,
    nevents: u32,
) -> Result<(), Errno> {
    let plan = plan(st, mem, subs, nsubs, events, nevents)?;
    if sleep(&plan.sleep) {
        return Err(deadline_passed(st));
    }
    finish(mem, plan, events, nevents)
}

/// As [`poll_oneoff`], with the state locked only to look at it: the
/// sleep itself holds no lock, so the guest's other threads keep making
/// WASI calls meanwhile.
pub(crate) fn poll_oneoff_unlocked(
    state: &std::sync::Mutex<WasiState>,
    mem: &mut GuestMemory<'_>,
    subs: u32,
    events: u32,
    nsubs: u32,
    nevents: u32,
) -> Result<(), Errno> {
    let plan = plan(
        &mut super::ctx::lock(state),
        mem,
        subs,
        nsubs,
        events,
        nevents,
    )?;
    if sleep(&plan.sleep) {
        return Err(deadline_passed(&mut super::ctx::lock(state)));
    }
    finish(mem, plan, events, nevents)
}

/// Sleeps as planned; `true` if the call's deadline ended the sleep.
fn sleep(s: &Sleep) -> bool {
    match *s {
        Sleep::No => false,
        Sleep::Until(at) => {
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            false
        }
        Sleep::Deadline(end) => {
            std::thread::sleep(end.saturating_duration_since(Instant::now()));
            true
        }
        Sleep::Forever => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
    }
}

fn plan(
    st: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    subs: u32,
    nsubs: u32,
    events: u32,
    nevents: u32,
) -> Result<Plan, Errno> {
    let subs_len = u64::from(nsubs) * u64::from(SUBSCRIPTION_SIZE);
    mem.check(subs, subs_len)?;
    mem.check(events, u64::from(nsubs) * u64::from(EVENT_SIZE))?;
    mem.check(nevents, 4)?;
    if nsubs == 0 {
        // Nothing could ever wake the caller.
        return Err(Errno::Inval);
    }
    // Fits u32: checked against memory above.
    let raw = mem.slice(subs, subs_len as u32)?.to_vec();
    let now = Instant::now();
    let mut ready = Vec::new();
    let mut clocks: Vec<(u64, Option<Instant>)> = Vec::new();
    for s in raw.chunks_exact(SUBSCRIPTION_SIZE as usize) {
        let userdata = u64_at(s, 0);
        let fd = u32::from_le_bytes([s[16], s[17], s[18], s[19]]);
        let mut event = Event {
            userdata,
            error: None,
            kind: s[8],
            nbytes: 0,
        };
        match s[8] {
            EVENTTYPE_CLOCK => {
                let flags = u16::from_le_bytes([s[40], s[41]]);
                match deadline(st, fd, u64_at(s, 24), flags, now) {
                    Ok(at) => clocks.push((userdata, at)),
                    Err(e) => {
                        event.error = Some(e);
                        ready.push(event);
                    }
                }
            }
            EVENTTYPE_FD_READ => {
                match readable(st, fd) {
                    Ok(n) => event.nbytes = n,
                    Err(e) => event.error = Some(e),
                }
                ready.push(event);
            }
            EVENTTYPE_FD_WRITE => {
                if let Err(e) = readable(st, fd) {
                    event.error = Some(e);
                }
                ready.push(event);
            }
            _ => return Err(Errno::Inval),
        }
    }
    let sleep = if !ready.is_empty() {
        Sleep::No
    } else {
        // Only clocks: sleep until the earliest. A clock that never fires
        // alone means sleeping for good, which is what the guest asked.
        let earliest = clocks.iter().filter_map(|c| c.1).min();
        match (earliest, st.deadline) {
            (Some(at), Some(end)) if end < at => Sleep::Deadline(end),
            (None, Some(end)) => Sleep::Deadline(end),
            (Some(at), _) => Sleep::Until(at),
            (None, None) => Sleep::Forever,
        }
    };
    Ok(Plan {
        ready,
        clocks,
        sleep,
    })
}

/// Writes the events ready after the sleep.
fn finish(mem: &mut GuestMemory<'_>, plan: Plan, events: u32, nevents: u32) -> Result<(), Errno> {
    let Plan {
        mut ready, clocks, ..
    } = plan;
    let now = Instant::now();
    for (userdata, at) in clocks {
        if at.is_some_and(|at| at <= now) {
            ready.push(Event {
                userdata,
                error: None,
                kind: EVENTTYPE_CLOCK,
                nbytes: 0,
            });
        }
    }
    for (i, e) in ready.iter().enumerate() {
        // At most nsubs events, all checked to fit above.
        mem.write(events + i as u32 * EVENT_SIZE, &e.encode())?;
    }
    mem.write_u32(nevents, ready.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::WasiCtx;

    fn clock_sub(
        mem: &mut GuestMemory<'_>,
        at: u32,
        userdata: u64,
        id: u32,
        timeout: u64,
        flags: u16,
    ) {
        let mut s = [0u8; 48];
        s[0..8].copy_from_slice(&userdata.to_le_bytes());
        s[8] = EVENTTYPE_CLOCK;
        s[16..20].copy_from_slice(&id.to_le_bytes());
        s[24..32].copy_from_slice(&timeout.to_le_bytes());
        s[40..42].copy_from_slice(&flags.to_le_bytes());
        mem.write(at, &s).unwrap();
    }

    #[test]
    fn sleeps_until_the_earliest_clock() {
        let ctx = WasiCtx::builder().build().unwrap();
        let mut st = ctx.lock();
        let mut bytes = vec![0u8; 1024];
        let mut mem = GuestMemory::new(&mut bytes);
        clock_sub(&mut mem, 0, 7, CLOCK_MONOTONIC, 30_000_000, 0);
        clock_sub(&mut mem, 48, 8, CLOCK_REALTIME, 10_000_000_000, 0);
        let t = Instant::now();
        poll_oneoff(&mut st, &mut mem, 0, 512, 2, 1000).unwrap();
        let slept = t.elapsed();
        assert!(slept >= Duration::from_millis(30), "{slept:?}");
        assert!(slept < Duration::from_secs(5), "{slept:?}");
        assert_eq!(mem.read_u32(1000).unwrap(), 1);
        assert_eq!(mem.read_u64(512).unwrap(), 7);
        assert_eq!(mem.slice(520, 3).unwrap(), &[0, 0, EVENTTYPE_CLOCK]);
        // An absolute monotonic time already past fires at once.
        clock_sub(&mut mem, 0, 9, CLOCK_MONOTONIC, 1, SUBCLOCKFLAGS_ABSTIME);
        let t = Instant::now();
        poll_oneoff(&mut st, &mut mem, 0, 512, 1, 1000).unwrap();
        assert!(t.elapsed() < Duration::from_millis(500));
        assert_eq!(mem.read_u64(512).unwrap(), 9);
    }

    #[test]
    fn fds_are_ready_and_bad_ones_reported() {
        let ctx = WasiCtx::builder().build().unwrap();
        let mut st = ctx.lock();
        let mut bytes = vec![0u8; 1024];
        let mut mem = GuestMemory::new(&mut bytes);
        clock_sub(&mut mem, 0, 1, CLOCK_MONOTONIC, 60_000_000_000, 0);
        let mut s = [0u8; 48];
        s[0] = 2;
        s[8] = EVENTTYPE_FD_READ;
        mem.write(48, &s).unwrap();
        s[0] = 3;
        s[8] = EVENTTYPE_FD_WRITE;
        s[16] = 42;
        mem.write(96, &s).unwrap();
        clock_sub(&mut mem, 144, 4, CLOCK_PROCESS_CPUTIME, 0, 0);
        let t = Instant::now();
        poll_oneoff(&mut st, &mut mem, 0, 512, 4, 1000).unwrap();
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "slept despite ready fds"
        );
        assert_eq!(mem.read_u32(1000).unwrap(), 3);
        assert_eq!(mem.read_u64(512).unwrap(), 2);
        assert_eq!(mem.slice(520, 2).unwrap(), &[0, 0]);
        assert_eq!(mem.read_u64(544).unwrap(), 3);
        assert_eq!(
            u16::from_le_bytes([mem.slice(552, 1).unwrap()[0], 0]),
            Errno::Badf.code()
        );
        assert_eq!(mem.read_u64(576).unwrap(), 4);
        assert_eq!(mem.slice(584, 1).unwrap()[0] as u16, Errno::Notsup.code());
    }

    #[test]
    fn a_deadline_cuts_a_long_sleep_short_with_a_trap() {
        let end = Instant::now() + Duration::from_millis(30);
        let ctx = WasiCtx::builder().deadline(end).build().unwrap();
        let mut bytes = vec![0u8; 1024];
        clock_sub(
            &mut GuestMemory::new(&mut bytes),
            0,
            1,
            CLOCK_MONOTONIC,
            3_600_000_000_000,
            0,
        );
        let sig = crate::wasi::signatures::signature("poll_oneoff").unwrap();
        let body = crate::wasi::implementation("poll_oneoff").unwrap();
        let mut slots = [0u32, 512, 1, 1000].map(faasm_runtime::RawVal::new);
        let t = Instant::now();
        let err = crate::wasi::call(sig, body, &ctx.state, &mut bytes, &mut slots).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(10));
        assert!(Instant::now() >= end);
        assert_eq!(
            err.host_kind(),
            Some(faasm_runtime::HostErrorKind::DeadlinePassed),
            "{err}"
        );
        // A sleep that ends before the deadline is unaffected.
        clock_sub(
            &mut GuestMemory::new(&mut bytes),
            0,
            1,
            CLOCK_MONOTONIC,
            1,
            0,
        );
        let ctx = WasiCtx::builder()
            .deadline(Instant::now() + Duration::from_secs(60))
            .build()
            .unwrap();
        let mut slots = [0u32, 512, 1, 1000].map(faasm_runtime::RawVal::new);
        crate::wasi::call(sig, body, &ctx.state, &mut bytes, &mut slots).unwrap();
        assert_eq!(slots[0].get::<i32>(), 0);
    }

    #[test]
    fn bad_arguments() {
        let ctx = WasiCtx::builder().build().unwrap();
        let mut st = ctx.lock();
        let mut bytes = vec![0u8; 256];
        let mut mem = GuestMemory::new(&mut bytes);
        assert_eq!(
            poll_oneoff(&mut st, &mut mem, 0, 128, 0, 200),
            Err(Errno::Inval)
        );
        assert_eq!(
            poll_oneoff(&mut st, &mut mem, 0, 128, 5, 200),
            Err(Errno::Fault)
        );
        assert_eq!(
            poll_oneoff(&mut st, &mut mem, 0, 128, u32::MAX, 200),
            Err(Errno::Fault)
        );
        assert_eq!(
            poll_oneoff(&mut st, &mut mem, 0, 128, 1, 254),
            Err(Errno::Fault)
        );
        mem.write_u8(8, 9).unwrap();
        assert_eq!(
            poll_oneoff(&mut st, &mut mem, 0, 128, 1, 200),
            Err(Errno::Inval)
        );
    }
}
