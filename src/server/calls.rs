//! Async calls (`?async=true`): who made each, and its result once there
//! is one, for `GET /v1/calls/{id}`.
//!
//! Finished calls are kept up to `keep` of them; past that the oldest
//! finished one is forgotten (its id then reads as unknown). Running calls
//! are never dropped: admission already bounds how many there are.

use crate::executor::CallHandle;
use crate::executor::call::Status;
use faasm_hostif::faasm::{CallId, CallResult};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

pub struct AsyncCall {
    pub user: String,
    pub func: String,
    handle: CallHandle,
}

impl AsyncCall {
    pub fn status(&self) -> Status {
        self.handle.status()
    }

    pub fn on_done(&self, f: impl FnOnce(Arc<CallResult>) + Send + 'static) {
        self.handle.on_done(f)
    }
}

#[derive(Default)]
struct Table {
    calls: HashMap<CallId, Arc<AsyncCall>>,
    finished: VecDeque<CallId>,
}

pub struct AsyncCalls {
    keep: usize,
    table: Mutex<Table>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl AsyncCalls {
    pub fn new(keep: usize) -> AsyncCalls {
        AsyncCalls {
            keep: keep.max(1),
            table: Mutex::default(),
        }
    }

    pub fn insert(&self, user: &str, func: &str, handle: CallHandle) -> Arc<AsyncCall> {
        let id = handle.id;
        let call = Arc::new(AsyncCall {
            user: user.to_string(),
            func: func.to_string(),
            handle,
        });
        lock(&self.table).calls.insert(id, call.clone());
        call
    }

    /// Call `id` ended: it now counts against `keep`.
    pub fn finished(&self, id: CallId) {
        let mut t = lock(&self.table);
        t.finished.push_back(id);
        while t.finished.len() > self.keep {
            if let Some(old) = t.finished.pop_front() {
                t.calls.remove(&old);
            }
        }
    }

    pub fn get(&self, id: CallId) -> Option<Arc<AsyncCall>> {
        lock(&self.table).calls.get(&id).cloned()
    }

    pub fn len(&self) -> usize {
        lock(&self.table).calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The JSON body of `GET /v1/calls/{id}`.
pub fn describe(id: CallId, call: &AsyncCall) -> serde_json::Value {
    let mut v = serde_json::json!({
        "id": id,
        "user": call.user,
        "function": call.func,
    });
    match call.status() {
        Status::Queued => v["status"] = "queued".into(),
        Status::Running => v["status"] = "running".into(),
        Status::Done(r) => done(&mut v, &r),
    }
    v
}

fn done(v: &mut serde_json::Value, r: &CallResult) {
    v["status"] = "done".into();
    v["return_code"] = r.return_code.into();
    v["chained"] = r.chained.clone().into();
    if r.failed {
        v["failed"] = true.into();
        v["timed_out"] = r.timed_out.into();
        v["error"] = String::from_utf8_lossy(&r.output).into_owned().into();
        v["output"] = String::from_utf8_lossy(&r.printed).into_owned().into();
    } else {
        v["failed"] = false.into();
        // Output is bytes; JSON carries it as text (invalid UTF-8 is
        // replaced), with its exact length beside it.
        v["output"] = String::from_utf8_lossy(&r.output).into_owned().into();
        v["output_bytes"] = r.output.len().into();
    }
}
