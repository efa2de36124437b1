//! Host functions as reference values.
//!
//! A host function imported by a module is reached through that module's
//! host trampoline. A host function used as a plain value (stored in a
//! table or global, passed as a `funcref` argument) needs a `VMFuncRef`
//! whose code works without any importing module: we compile, once per
//! signature, a bodiless module importing a function of that type and use
//! its host trampoline.

use crate::vm::{HostFuncCtx, VMFuncRef};
use crate::{Engine, Error, Module};
use faasm_abi::{FuncType, ValType};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

pub(crate) struct StandaloneRef {
    funcref: Box<VMFuncRef>,
    /// Owns the trampoline code.
    _module: Module,
}

// SAFETY: the funcref is immutable after construction.
unsafe impl Send for StandaloneRef {}
// SAFETY: as above.
unsafe impl Sync for StandaloneRef {}

static TRAMPOLINES: LazyLock<Mutex<HashMap<FuncType, Module>>> = LazyLock::new(Default::default);

impl StandaloneRef {
    /// A funcref calling the host function whose context is `ctx`, of type
    /// `ty` (canonical id `type_id`), through a trampoline compiled once
    /// per signature.
    pub(crate) fn new(
        ty: &FuncType,
        type_id: u32,
        ctx: &HostFuncCtx,
    ) -> Result<StandaloneRef, Error> {
        let module = trampoline_module(ty)?;
        let code = module
            .host_trampoline(0)
            .expect("the module imports a function of type 0");
        Ok(StandaloneRef {
            funcref: Box::new(VMFuncRef {
                code,
                vmctx: (ctx as *const HostFuncCtx).cast_mut().cast(),
                type_id,
            }),
            _module: module,
        })
    }

    pub(crate) fn funcref(&self) -> *const VMFuncRef {
        &*self.funcref
    }
}

fn trampoline_module(ty: &FuncType) -> Result<Module, Error> {
    let mut cache = TRAMPOLINES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = cache.get(ty) {
        return Ok(m.clone());
    }
    let module = Module::new(&Engine::default(), &import_only_module(ty))?;
    cache.insert(ty.clone(), module.clone());
    Ok(module)
}

/// `(module (type (func ty)) (import "" "" (func (type 0))))` in binary.
pub(crate) fn import_only_module(ty: &FuncType) -> Vec<u8> {
    let mut functype = vec![0x60];
    for list in [&ty.params, &ty.results] {
        leb(&mut functype, list.len() as u32);
        functype.extend(list.iter().map(|t| valtype_byte(*t)));
    }
    let mut types = vec![1];
    types.extend(functype);
    let imports = vec![1, 0, 0, 0x00, 0];
    let mut out = b"\0asm\x01\0\0\0".to_vec();
    for (id, body) in [(1u8, types), (2u8, imports)] {
        out.push(id);
        leb(&mut out, body.len() as u32);
        out.extend(body);
    }
    out
}

fn valtype_byte(t: ValType) -> u8 {
    match t {
        ValType::I32 => 0x7f,
        ValType::I64 => 0x7e,
        ValType::F32 => 0x7d,
        ValType::F64 => 0x7c,
        ValType::V128 => 0x7b,
        ValType::FuncRef => 0x70,
        ValType::ExternRef => 0x6f,
    }
}

fn leb(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
