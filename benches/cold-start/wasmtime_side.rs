//! The wasmtime side of the cold-start comparison (a dev-dependency of the
//! benchmarks only): the same module instantiated by wasmtime 48 with its
//! pooling allocator and copy-on-write memory images, and with its default
//! on-demand allocator. Included by `benches/cold_start.rs` and the
//! `cold-start-vs-wasmtime` example.

use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Module,
    PoolingAllocationConfig, Store,
};

/// One wasmtime configuration with the module compiled and pre-linked.
pub struct WasmtimeSide {
    pub pre: InstancePre<()>,
    pub engine: Engine,
}

/// A live wasmtime instance: its store (which owns it).
pub struct Live {
    _store: Store<()>,
}

impl WasmtimeSide {
    /// The pooling allocator with room for `slots` live instances, and
    /// copy-on-write memory images (wasmtime's fastest instantiation).
    pub fn pooling(wasm: &[u8], slots: u32) -> wasmtime::Result<WasmtimeSide> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(slots)
            .total_memories(slots)
            .total_tables(slots)
            .max_memory_size(8 << 20);
        let mut config = Config::new();
        config
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            .memory_init_cow(true);
        WasmtimeSide::with(config, wasm)
    }

    /// wasmtime's defaults: on-demand allocation (copy-on-write images are
    /// on by default there too).
    pub fn on_demand(wasm: &[u8]) -> wasmtime::Result<WasmtimeSide> {
        WasmtimeSide::with(Config::new(), wasm)
    }

    fn with(config: Config, wasm: &[u8]) -> wasmtime::Result<WasmtimeSide> {
        let engine = Engine::new(&config)?;
        let module = Module::new(&engine, wasm)?;
        let pre = Linker::new(&engine).instantiate_pre(&module)?;
        Ok(WasmtimeSide { pre, engine })
    }

    /// A new store and instance, `noop` called once; kept alive.
    pub fn start(&self) -> wasmtime::Result<Live> {
        let mut store = Store::new(&self.engine, ());
        let instance = self.pre.instantiate(&mut store)?;
        instance
            .get_typed_func::<(), ()>(&mut store, "noop")?
            .call(&mut store, ())?;
        Ok(Live { _store: store })
    }

    /// As `start`, running `init` before `noop` (what the module costs
    /// wasmtime without a snapshot of its initialised state).
    pub fn start_init(&self) -> wasmtime::Result<Live> {
        let mut store = Store::new(&self.engine, ());
        let instance = self.pre.instantiate(&mut store)?;
        instance
            .get_typed_func::<(), ()>(&mut store, "init")?
            .call(&mut store, ())?;
        instance
            .get_typed_func::<(), ()>(&mut store, "noop")?
            .call(&mut store, ())?;
        Ok(Live { _store: store })
    }
}
