//! Admission of calls per user: how many calls each user has in flight,
//! the queue of calls waiting for a slot, and the call records each user
//! holds.
//!
//! A call is *admitted* when it may take a worker (running, or blocked in
//! an await); at most `max_calls_per_user` of one user's calls and
//! `max_calls` of all users' are admitted at once. A call past either
//! bound waits in its user's queue (bounded in calls and input bytes)
//! until a slot frees or its deadline (its root's) passes. Users with
//! queued calls are served in turn, so one user's fan-out cannot starve
//! another's.
//!
//! Queueing can deadlock: when every admitted call of a user (or of the
//! executor) is blocked awaiting a call that is still queued, no slot will
//! ever free. Then the newest queued call that someone awaits fails
//! ([`CallError::Deadlock`]) and its caller carries on, so a chain deeper
//! than the limit fails at its limit instead of hanging.

use faasm_hostif::faasm::CallId;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// Why the executor failed a call before running it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error(
        "call queue of user {user:?} is full ({queued} calls, {bytes} bytes of input queued; \
         limits {max_calls} calls, {max_bytes} bytes)"
    )]
    QueueFull {
        user: String,
        queued: usize,
        bytes: usize,
        max_calls: usize,
        max_bytes: usize,
    },
    #[error(
        "in-flight limit reached ({limit} calls) while every admitted call waits for a queued one"
    )]
    Deadlock { limit: usize },
    #[error("the call's deadline passed while it was queued")]
    DeadlinePassed,
    #[error("cannot start: {0}")]
    NotStarted(String),
}

/// Per-user bounds on calls (see the README's "Limits per user").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLimits {
    /// Calls of one user admitted at once (running or blocked).
    pub max_calls_per_user: usize,
    /// Calls of one user waiting for a slot; one more fails at once.
    pub max_queued_per_user: usize,
    /// Bytes of input held by one user's queued calls.
    pub max_queued_input_per_user: usize,
    /// Records of chained calls one user's running calls hold (each
    /// keeps its result until the call that made it ends).
    pub max_records_per_user: usize,
    /// Bytes of input of one chained call.
    pub max_chain_input: usize,
}

impl Default for CallLimits {
    fn default() -> Self {
        CallLimits {
            max_calls_per_user: 1024,
            max_queued_per_user: 100_000,
            max_queued_input_per_user: 256 << 20,
            max_records_per_user: 250_000,
            max_chain_input: 64 << 20,
        }
    }
}

/// What a queued call becomes: admitted (`Ok`) or failed.
pub type Start = Box<dyn FnOnce(Result<(), CallError>) + Send>;

struct Pending {
    id: CallId,
    deadline: Option<Instant>,
    input_len: usize,
    start: Start,
}

#[derive(Default)]
struct User {
    admitted: usize,
    /// Admitted calls blocked in an await, and what they await.
    awaiting: usize,
    awaited: HashMap<CallId, usize>,
    queue: VecDeque<Pending>,
    queued_bytes: usize,
    records: usize,
}

impl User {
    fn idle(&self) -> bool {
        self.admitted == 0 && self.queue.is_empty() && self.records == 0 && self.awaiting == 0
    }
}

#[derive(Default)]
struct State {
    users: HashMap<String, User>,
    admitted: usize,
    awaiting: usize,
    /// Users with queued calls, in the order they are served.
    waiting: VecDeque<String>,
}

/// The executor's admission control.
pub struct Tenants {
    limits: CallLimits,
    max_calls: usize,
    state: Mutex<State>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts decided under the lock, run after it is released.
type Decided = Vec<(Start, Result<(), CallError>)>;

fn run(decided: Decided) {
    for (start, r) in decided {
        start(r);
    }
}

impl Tenants {
    pub fn new(limits: CallLimits, max_calls: usize) -> Tenants {
        Tenants {
            limits,
            max_calls: max_calls.max(1),
            state: Mutex::default(),
        }
    }

    pub fn limits(&self) -> &CallLimits {
        &self.limits
    }

    /// Admits call `id` of `user` now (calling `start(Ok)`), queues it, or
    /// fails it (`start(Err)`) if the user's queue is full.
    pub fn submit(
        &self,
        user: &str,
        id: CallId,
        deadline: Option<Instant>,
        input_len: usize,
        start: Start,
    ) {
        let decided = {
            let mut st = lock(&self.state);
            self.enqueue(&mut st, user, id, deadline, input_len, start)
        };
        run(decided);
    }

    fn enqueue(
        &self,
        st: &mut State,
        user: &str,
        id: CallId,
        deadline: Option<Instant>,
        input_len: usize,
        start: Start,
    ) -> Decided {
        let u = st.users.entry(user.to_string()).or_default();
        if u.queue.is_empty()
            && u.admitted < self.limits.max_calls_per_user
            && st.admitted < self.max_calls
        {
            u.admitted += 1;
            st.admitted += 1;
            return vec![(start, Ok(()))];
        }
        if u.queue.len() >= self.limits.max_queued_per_user
            || u.queued_bytes.saturating_add(input_len) > self.limits.max_queued_input_per_user
        {
            let e = CallError::QueueFull {
                user: user.to_string(),
                queued: u.queue.len(),
                bytes: u.queued_bytes,
                max_calls: self.limits.max_queued_per_user,
                max_bytes: self.limits.max_queued_input_per_user,
            };
            return vec![(start, Err(e))];
        }
        let first = u.queue.is_empty();
        u.queued_bytes += input_len;
        u.queue.push_back(Pending {
            id,
            deadline,
            input_len,
            start,
        });
        if first {
            st.waiting.push_back(user.to_string());
        }
        let mut decided = self.admit(st);
        decided.extend(self.break_deadlocks(st));
        decided
    }

    /// An admitted call of `user` ended.
    pub fn finished(&self, user: &str, records_freed: usize) {
        let decided = {
            let mut st = lock(&self.state);
            let st = &mut *st;
            st.admitted -= 1;
            if let Some(u) = st.users.get_mut(user) {
                u.admitted -= 1;
                u.records -= records_freed.min(u.records);
            }
            let mut decided = self.admit(st);
            decided.extend(self.break_deadlocks(st));
            if st.users.get(user).is_some_and(User::idle) {
                st.users.remove(user);
            }
            decided
        };
        run(decided);
    }

    /// Counts a record `user`'s call is about to make: `false` (nothing
    /// counted) at the limit.
    pub fn add_record(&self, user: &str) -> bool {
        let mut st = lock(&self.state);
        let u = st.users.entry(user.to_string()).or_default();
        if u.records >= self.limits.max_records_per_user {
            return false;
        }
        u.records += 1;
        true
    }

    /// An admitted call of `user` blocks awaiting call `id`.
    pub fn await_begin(&self, user: &str, id: CallId) {
        let decided = {
            let mut st = lock(&self.state);
            let st = &mut *st;
            st.awaiting += 1;
            let u = st.users.entry(user.to_string()).or_default();
            u.awaiting += 1;
            *u.awaited.entry(id).or_default() += 1;
            self.break_deadlocks(st)
        };
        run(decided);
    }

    pub fn await_end(&self, user: &str, id: CallId) {
        let mut st = lock(&self.state);
        st.awaiting -= 1;
        if let Some(u) = st.users.get_mut(user) {
            u.awaiting -= 1;
            if let Some(n) = u.awaited.get_mut(&id) {
                *n -= 1;
                if *n == 0 {
                    u.awaited.remove(&id);
                }
            }
        }
    }

    /// `user`'s admitted calls and queued calls (for tests and diagnostics).
    pub fn load(&self, user: &str) -> (usize, usize) {
        lock(&self.state)
            .users
            .get(user)
            .map_or((0, 0), |u| (u.admitted, u.queue.len()))
    }

    /// Admits queued calls while there are slots, one per user per turn;
    /// queued calls whose deadline passed fail.
    fn admit(&self, st: &mut State) -> Decided {
        let mut decided = Vec::new();
        let now = Instant::now();
        loop {
            let mut progressed = false;
            for _ in 0..st.waiting.len() {
                if st.admitted >= self.max_calls {
                    break;
                }
                let Some(name) = st.waiting.pop_front() else {
                    break;
                };
                let Some(u) = st.users.get_mut(&name) else {
                    continue;
                };
                while let Some(p) = u.queue.front() {
                    if p.deadline.is_some_and(|d| d <= now) {
                        let p = u.queue.pop_front().expect("front exists");
                        u.queued_bytes -= p.input_len;
                        decided.push((p.start, Err(CallError::DeadlinePassed)));
                        continue;
                    }
                    if u.admitted < self.limits.max_calls_per_user {
                        let p = u.queue.pop_front().expect("front exists");
                        u.queued_bytes -= p.input_len;
                        u.admitted += 1;
                        st.admitted += 1;
                        decided.push((p.start, Ok(())));
                        progressed = true;
                    }
                    break;
                }
                if !u.queue.is_empty() {
                    st.waiting.push_back(name);
                }
            }
            if !progressed || st.admitted >= self.max_calls || st.waiting.is_empty() {
                return decided;
            }
        }
    }

    /// Fails one queued call per deadlocked user (and one if the whole
    /// executor is deadlocked): the newest one an admitted call awaits.
    fn break_deadlocks(&self, st: &mut State) -> Decided {
        let mut decided = Vec::new();
        let per_user = self.limits.max_calls_per_user;
        for name in &st.waiting {
            let Some(u) = st.users.get_mut(name) else {
                continue;
            };
            if u.admitted >= per_user
                && u.awaiting >= u.admitted
                && let Some(p) = take_awaited(u)
            {
                decided.push((p.start, Err(CallError::Deadlock { limit: per_user })));
            }
        }
        if decided.is_empty() && st.admitted >= self.max_calls && st.awaiting >= st.admitted {
            for name in &st.waiting {
                if let Some(u) = st.users.get_mut(name)
                    && let Some(p) = take_awaited(u)
                {
                    let limit = self.max_calls;
                    decided.push((p.start, Err(CallError::Deadlock { limit })));
                    break;
                }
            }
        }
        st.waiting
            .retain(|n| st.users.get(n).is_some_and(|u| !u.queue.is_empty()));
        decided
    }
}

/// Removes the newest queued call of `u` that one of its calls awaits
/// (else the newest).
fn take_awaited(u: &mut User) -> Option<Pending> {
    let pos = u
        .queue
        .iter()
        .rposition(|p| u.awaited.contains_key(&p.id))
        .or_else(|| u.queue.len().checked_sub(1))?;
    let p = u.queue.remove(pos)?;
    u.queued_bytes -= p.input_len;
    Some(p)
}
