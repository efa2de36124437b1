use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// The bytes are not a valid WebAssembly module.
    #[error("invalid module: {message}{}, at byte offset {offset:#x}", .func.map(|f| format!(" in function {f}")).unwrap_or_default())]
    Invalid {
        message: String,
        offset: u64,
        func: Option<u32>,
    },
    /// Valid WebAssembly that uses something this compiler does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Cranelift rejected the generated IR: a compiler bug.
    #[error("code generation failed in function {func}: {message}")]
    Codegen { func: u32, message: String },
    /// Compilation ran past `CompileConfig::time_limit`.
    #[error("compilation took longer than the limit of {} s", .limit.as_secs_f64())]
    TimeLimit { limit: std::time::Duration },
    /// Cranelift rejected an entry or host trampoline: a compiler bug.
    #[error("code generation failed for a trampoline of type {ty}: {message}")]
    Trampoline { ty: u32, message: String },
}

impl CompileError {
    pub(crate) fn invalid(e: &wasmparser::BinaryReaderError, func: Option<u32>) -> Self {
        CompileError::Invalid {
            message: e.message().to_string(),
            offset: e.offset(),
            func,
        }
    }
}
