//! The [`Linker`]: named host functions and exports that satisfy a
//! module's imports, and instantiation with them.

use crate::{Caller, Engine, Error, Extern, Func, Instance, Module, Trap, Val};
use faasm_abi::FuncType;
use std::collections::HashMap;
use std::sync::Arc;

/// Named definitions that satisfy modules' imports.
#[derive(Clone)]
pub struct Linker {
    engine: Engine,
    defs: HashMap<(String, String), Extern>,
}

impl Linker {
    /// An empty linker for modules of `engine`.
    pub fn new(engine: &Engine) -> Linker {
        Linker {
            engine: engine.clone(),
            defs: HashMap::new(),
        }
    }

    /// The engine the linker's modules belong to.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Defines (or replaces) `module`.`name`.
    pub fn define(&mut self, module: &str, name: &str, item: impl Into<Extern>) -> &mut Self {
        self.defs
            .insert((module.to_string(), name.to_string()), item.into());
        self
    }

    /// Defines a host function.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        f: impl Fn(&mut Caller<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> &mut Self {
        self.define(module, name, Func::new(ty, f))
    }

    /// Defines a typed host function (see [`Func::wrap`]): its wasm type
    /// is the closure's signature.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        f: impl crate::IntoHostFunc<Params, Results>,
    ) -> &mut Self {
        self.define(module, name, Func::wrap(f))
    }

    /// Defines a host function over raw slots (see [`Func::new_raw`]);
    /// `Error::Usage` if `ty` has a reference type.
    pub fn func_new_raw(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        f: impl Fn(&mut Caller<'_>, &mut [crate::RawVal]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Result<&mut Self, Error> {
        let func = Func::new_raw(ty, f)?;
        Ok(self.define(module, name, func))
    }

    /// Defines every export of `instance` under `module`.
    pub fn instance(&mut self, module: &str, instance: &Instance) -> &mut Self {
        for (name, item) in instance.exports() {
            self.define(module, &name, item);
        }
        self
    }

    /// The definition of `module`.`name`, if any.
    pub fn get(&self, module: &str, name: &str) -> Option<&Extern> {
        self.defs.get(&(module.to_string(), name.to_string()))
    }

    /// Links `module`'s imports (type-checked), instantiates it and runs its
    /// start function. A missing or mistyped import is `Error::Link`; a trap
    /// during initialisation is `Error::Trap`.
    pub fn instantiate(&self, module: &Module) -> Result<Instance, Error> {
        self.instantiate_opts(module, InstanceOptions::default())
    }

    /// As [`Linker::instantiate`], attaching `data` to the instance: host
    /// functions called by it find it with [`crate::Caller::data`] (also
    /// during its start function). So per-instance host state needs no
    /// linker of its own.
    pub fn instantiate_with(
        &self,
        module: &Module,
        data: Arc<dyn std::any::Any + Send + Sync>,
    ) -> Result<Instance, Error> {
        self.instantiate_opts(
            module,
            InstanceOptions {
                data: Some(data),
                ..InstanceOptions::default()
            },
        )
    }

    /// As [`Linker::instantiate`], with everything an embedder can choose.
    pub fn instantiate_opts(
        &self,
        module: &Module,
        opts: InstanceOptions,
    ) -> Result<Instance, Error> {
        crate::instantiate::instantiate(self, module, opts, None)
    }

    /// An instance in the state `snapshot` recorded (see
    /// [`crate::Snapshot`]): imports are linked as usual, then memories map
    /// the snapshot's image copy-on-write and tables and globals take its
    /// values. No segment, start function or initialiser runs.
    pub fn instantiate_snapshot(
        &self,
        snapshot: &crate::Snapshot,
        opts: InstanceOptions,
    ) -> Result<Instance, Error> {
        crate::instantiate::instantiate(self, snapshot.module(), opts, Some(snapshot))
    }
}

/// How to make an instance ([`Linker::instantiate_opts`]).
#[derive(Clone, Default)]
pub struct InstanceOptions {
    /// Per-instance data for host functions ([`crate::Caller::data`]).
    pub data: Option<crate::objects::HostData>,
    /// The group to join before any of the instance's code runs (so a
    /// deadline also covers its start function); a new group by default.
    pub interrupt: Option<crate::InterruptHandle>,
}
