//! Canonical, process-wide function-type ids. `call_indirect` compares the
//! callee's id with the expected type's id, so equal signatures must get
//! equal ids no matter which module declared them.

use faasm_abi::FuncType;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

static IDS: LazyLock<Mutex<HashMap<FuncType, u32>>> = LazyLock::new(Default::default);

pub(crate) fn canonical_id(ty: &FuncType) -> u32 {
    let mut ids = IDS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(id) = ids.get(ty) {
        return *id;
    }
    // Ids start at 1 so that a zeroed funcref never matches a real type.
    let id = ids.len() as u32 + 1;
    ids.insert(ty.clone(), id);
    id
}
