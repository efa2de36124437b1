//! A small process-wide pool of guarded linear-memory reservations.
//!
//! Reserving (and later unmapping) 4 GiB plus guard costs far more than
//! resetting a used reservation, and serverless workloads create and drop
//! instances constantly. A released reservation is reset (contents
//! discarded, everything inaccessible) before it enters the pool, so a
//! reused one is indistinguishable from a fresh one.

use super::mmap::Mmap;
use std::sync::Mutex;

/// Reservations kept for reuse; the rest are unmapped.
const CAPACITY: usize = 32;

static POOL: Mutex<Vec<Mmap>> = Mutex::new(Vec::new());

/// A pooled reservation of exactly `len` bytes after a lead of `lead`
/// (both page multiples), if any.
pub fn take(lead: usize, len: usize) -> Option<Mmap> {
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let i = pool
        .iter()
        .position(|m| m.len() == len && m.lead() == lead)?;
    Some(pool.swap_remove(i))
}

/// Returns a reservation whose first `used` bytes may have been accessible.
/// It is reset first; if that fails or the pool is full it is unmapped.
pub fn give(map: Mmap, used: usize) {
    if map.is_empty() || map.reset_prefix(used).is_err() {
        return;
    }
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if pool.len() < CAPACITY {
        pool.push(map);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::mmap::page_size;

    // The pool is process-wide and other tests of this crate use it: each
    // test here uses a length of its own, which no linear memory has.
    fn pages(n: usize) -> usize {
        n * page_size()
    }

    #[test]
    fn a_reservation_given_back_is_reused_with_its_contents_discarded() {
        let len = pages(7);
        let map = Mmap::reserve(len).unwrap();
        let addr = map.as_ptr();
        map.make_accessible(0, pages(2)).unwrap();
        // SAFETY: the first two pages were just made writable, and nothing
        // else refers to this fresh mapping.
        unsafe { map.as_ptr().add(pages(1)).write(0xab) };
        give(map, pages(2));
        let again = take(0, len).expect("the reservation was kept");
        assert_eq!(again.as_ptr(), addr);
        again.make_accessible(0, pages(2)).unwrap();
        // SAFETY: made readable just above; the pool handed it to us alone.
        assert_eq!(unsafe { again.as_ptr().add(pages(1)).read() }, 0);
    }

    #[test]
    fn only_a_reservation_of_exactly_the_length_and_lead_is_taken() {
        let len = pages(11);
        give(Mmap::reserve_with_lead(pages(1), len).unwrap(), 0);
        assert!(take(0, pages(12)).is_none());
        assert!(take(0, pages(10)).is_none());
        assert!(take(0, len).is_none(), "no lead asked for");
        assert!(take(pages(2), len).is_none(), "a longer lead asked for");
        let again = take(pages(1), len).expect("the reservation was kept");
        assert_eq!((again.lead(), again.len()), (pages(1), len));
        give(Mmap::reserve(len).unwrap(), 0);
        assert_eq!(take(0, len).map(|m| m.len()), Some(len));
        assert!(take(0, len).is_none(), "taken twice");
    }

    #[test]
    fn an_empty_reservation_is_not_kept() {
        give(Mmap::reserve(0).unwrap(), 0);
        assert!(take(0, 0).is_none());
    }

    #[test]
    fn the_pool_keeps_at_most_its_capacity() {
        let len = pages(13);
        for _ in 0..CAPACITY + 8 {
            give(Mmap::reserve(len).unwrap(), 0);
        }
        let mut kept = 0;
        while take(0, len).is_some() {
            kept += 1;
        }
        // Other tests' reservations may hold some of the places: at most
        // CAPACITY of these were kept, maybe fewer.
        assert!(kept <= CAPACITY, "{kept} kept");
    }
}
