//! Admission of calls at the server: at most `per_user` calls of one
//! user and `total` calls overall are in flight (running or queued in the
//! executor). One more is refused at once (HTTP 429) instead of waiting
//! in a queue that could grow without bound.
//!
//! A [`Permit`] is held until the executor finishes the call, not until
//! the HTTP exchange ends: a client that hangs up does not free the slot
//! while its call still runs, and a finished call always frees it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Saturated {
    #[error("user {user:?} has {limit} calls in flight already; retry later")]
    User { user: String, limit: usize },
    #[error("the server has {limit} calls in flight already; retry later")]
    Server { limit: usize },
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_user: HashMap<String, usize>,
}

pub struct Admission {
    per_user: usize,
    total: usize,
    counts: Mutex<Counts>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Admission {
    pub fn new(per_user: usize, total: usize) -> Arc<Admission> {
        Arc::new(Admission {
            per_user: per_user.max(1),
            total: total.max(1),
            counts: Mutex::default(),
        })
    }

    /// A slot for one call of `user`, or why there is none.
    pub fn admit(self: &Arc<Self>, user: &str) -> Result<Permit, Saturated> {
        let mut c = lock(&self.counts);
        if c.total >= self.total {
            return Err(Saturated::Server { limit: self.total });
        }
        let n = c.per_user.get(user).copied().unwrap_or(0);
        if n >= self.per_user {
            return Err(Saturated::User {
                user: user.to_string(),
                limit: self.per_user,
            });
        }
        c.total += 1;
        c.per_user.insert(user.to_string(), n + 1);
        Ok(Permit {
            admission: self.clone(),
            user: user.to_string(),
        })
    }

    /// Calls in flight now.
    pub fn in_flight(&self) -> usize {
        lock(&self.counts).total
    }
}

/// One admitted call; dropping it frees the slot.
pub struct Permit {
    admission: Arc<Admission>,
    user: String,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut c = lock(&self.admission.counts);
        c.total -= 1;
        if let Some(n) = c.per_user.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                c.per_user.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_user_and_in_total() {
        let a = Admission::new(2, 3);
        let p1 = a.admit("alice").unwrap();
        let _p2 = a.admit("alice").unwrap();
        assert!(matches!(a.admit("alice"), Err(Saturated::User { .. })));
        let _p3 = a.admit("bob").unwrap();
        assert!(matches!(a.admit("carol"), Err(Saturated::Server { .. })));
        drop(p1);
        assert_eq!(a.in_flight(), 2);
        a.admit("alice").unwrap();
        assert_eq!(a.in_flight(), 2);
    }
}
