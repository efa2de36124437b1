//! Our WebAssembly → Cranelift IR translator, one function at a time.
//!
//! The operand stack becomes SSA values; structured control flow becomes
//! blocks whose parameters carry branch values.

use crate::CompileConfig;
use crate::CompileError;
use cranelift_codegen::ir;
use cranelift_frontend::FunctionBuilderContext;
use faasm_abi::{ModuleInfo, VMOffsets};
use wasmparser::{FuncValidator, FunctionBody, ValidatorResources};

/// What the translator knows about the module around a function.
pub(crate) struct FuncEnv<'a> {
    pub info: &'a ModuleInfo,
    pub offsets: VMOffsets,
    pub config: &'a CompileConfig,
}

/// Namespace of `ExternalName::User` names that denote wasm functions by
/// index; the driver resolves those calls inside the text section.
pub(crate) const FUNC_NAMESPACE: u32 = 0;

/// Translates (and validates, operator by operator) one defined function
/// into `func`, whose name and signature the caller has already set.
pub(crate) fn translate_function(
    env: &FuncEnv<'_>,
    func_index: u32,
    body: &FunctionBody<'_>,
    validator: &mut FuncValidator<ValidatorResources>,
    func: &mut ir::Function,
    builder_ctx: &mut FunctionBuilderContext,
) -> Result<(), CompileError> {
    let _ = (env, func_index, body, validator, func, builder_ctx);
    Err(CompileError::Unsupported("translator not written yet".into()))
}
