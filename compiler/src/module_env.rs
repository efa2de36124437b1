//! Parses a module into `ModuleInfo` and hands out function bodies.
//!
//! Module-level validation happens here, in one sequential pass; function
//! bodies are only collected (with the validator state each needs) and are
//! validated later, operator by operator, while the translator walks them —
//! possibly in parallel.

use crate::translate::valtype;
use crate::{CompileError, Features};
use faasm_abi::{
    ConstExpr, ConstOp, DataSegment, ElemSegment, EntityType, Export, ExportKind, GlobalType,
    Import, MemoryType, ModuleInfo, SegmentMode, TableType, ValType,
};
use wasmparser::{
    BinaryReaderError, DataKind, ElementItems, ElementKind, ExternalKind, FuncToValidate,
    FunctionBody, KnownCustom, Name, Operator, Parser, Payload, TableInit, TypeRef, ValidPayload,
    Validator, ValidatorResources, WasmFeatures,
};

/// The wasmparser feature set for our [`Features`]: the one place that
/// decides which language the validator and the parser accept.
pub(crate) fn wasm_features(features: Features) -> WasmFeatures {
    let mut f = WasmFeatures::WASM2;
    f.set(WasmFeatures::REFERENCE_TYPES, features.reference_types);
    f.set(WasmFeatures::THREADS, features.threads);
    f.set(WasmFeatures::TAIL_CALL, features.tail_call);
    f.set(WasmFeatures::EXTENDED_CONST, features.extended_const);
    f.set(WasmFeatures::MULTI_MEMORY, features.multi_memory);
    f
}

/// A defined function's body with the validator state it needs.
pub(crate) struct FunctionBodyData<'a> {
    pub validator: FuncToValidate<ValidatorResources>,
    pub body: FunctionBody<'a>,
}

/// A parsed, module-level-validated module.
pub(crate) struct ModuleEnv<'a> {
    pub info: ModuleInfo,
    /// In defined-function order (index `num_imported_funcs + i`).
    pub bodies: Vec<FunctionBodyData<'a>>,
}

fn invalid(e: BinaryReaderError) -> CompileError {
    CompileError::invalid(&e, None)
}

pub(crate) fn parse(wasm: &[u8], features: Features) -> Result<ModuleEnv<'_>, CompileError> {
    let features = wasm_features(features);
    let mut validator = Validator::new_with_features(features);
    let mut env = ModuleEnv {
        info: ModuleInfo::default(),
        bodies: Vec::new(),
    };
    // The parser must know the feature set too: it decides how bytes such as
    // memory.grow's reserved zero byte or memory limits are decoded.
    let mut parser = Parser::new(0);
    parser.set_features(features);
    for payload in parser.parse_all(wasm) {
        let payload = payload.map_err(invalid)?;
        // Validate first: the readers below may then assume well-formedness
        // of everything the validator checks (indices, types, const exprs).
        match validator.payload(&payload).map_err(invalid)? {
            ValidPayload::Ok | ValidPayload::End(_) => {}
            ValidPayload::Func(validator, body) => {
                env.bodies.push(FunctionBodyData { validator, body });
                continue;
            }
            ValidPayload::Parser(_) => {
                return Err(CompileError::Unsupported(
                    "nested modules and components".into(),
                ));
            }
        }
        read_section(&mut env.info, payload)?;
    }
    Ok(env)
}

fn read_section(info: &mut ModuleInfo, payload: Payload<'_>) -> Result<(), CompileError> {
    match payload {
        Payload::TypeSection(reader) => {
            for group in reader {
                for sub in group.map_err(invalid)?.into_types() {
                    let wasmparser::CompositeInnerType::Func(f) = &sub.composite_type.inner else {
                        return Err(CompileError::Unsupported("non-function types".into()));
                    };
                    info.types.push(faasm_abi::FuncType::new(
                        valtypes(f.params())?,
                        valtypes(f.results())?,
                    ));
                }
            }
        }
        Payload::ImportSection(reader) => {
            for import in reader.into_imports() {
                read_import(info, import.map_err(invalid)?)?;
            }
        }
        Payload::FunctionSection(reader) => {
            for ty in reader {
                info.funcs.push(ty.map_err(invalid)?);
            }
        }
        Payload::TableSection(reader) => {
            for table in reader {
                let table = table.map_err(invalid)?;
                if let TableInit::Expr(_) = table.init {
                    return Err(CompileError::Unsupported(
                        "table initialiser expressions".into(),
                    ));
                }
                info.tables.push(table_type(table.ty)?);
            }
        }
        Payload::MemorySection(reader) => {
            for memory in reader {
                info.memories.push(memory_type(memory.map_err(invalid)?));
            }
        }
        Payload::GlobalSection(reader) => {
            for global in reader {
                let global = global.map_err(invalid)?;
                let init = const_expr(&global.init_expr)?;
                info.globals.push((global_type(global.ty)?, Some(init)));
            }
        }
        Payload::ExportSection(reader) => {
            for export in reader {
                let export = export.map_err(invalid)?;
                info.exports.push(Export {
                    name: export.name.to_string(),
                    kind: export_kind(export.kind)?,
                    index: export.index,
                });
            }
        }
        Payload::StartSection { func, .. } => info.start = Some(func),
        Payload::ElementSection(reader) => {
            for elem in reader {
                info.elems.push(elem_segment(elem.map_err(invalid)?)?);
            }
        }
        Payload::DataSection(reader) => {
            for data in reader {
                let data = data.map_err(invalid)?;
                let mode = match data.kind {
                    DataKind::Passive => SegmentMode::Passive,
                    DataKind::Active {
                        memory_index,
                        offset_expr,
                    } => SegmentMode::Active {
                        index: memory_index,
                        offset: const_expr(&offset_expr)?,
                    },
                };
                info.data.push(DataSegment {
                    mode,
                    bytes: data.data.to_vec(),
                });
            }
        }
        Payload::CustomSection(reader) => {
            if let KnownCustom::Name(names) = reader.as_known() {
                info.module_name = module_name(names.clone());
                info.func_names = func_names(names);
            }
        }
        // Version, DataCount, CodeSectionStart, End: nothing to record.
        _ => {}
    }
    Ok(())
}

fn read_import(info: &mut ModuleInfo, import: wasmparser::Import<'_>) -> Result<(), CompileError> {
    let ty = match import.ty {
        TypeRef::Func(ty) => {
            info.funcs.push(ty);
            info.num_imported_funcs += 1;
            EntityType::Func(ty)
        }
        TypeRef::Table(t) => {
            let t = table_type(t)?;
            info.tables.push(t);
            info.num_imported_tables += 1;
            EntityType::Table(t)
        }
        TypeRef::Memory(m) => {
            let m = memory_type(m);
            info.memories.push(m);
            info.num_imported_memories += 1;
            EntityType::Memory(m)
        }
        TypeRef::Global(g) => {
            let g = global_type(g)?;
            info.globals.push((g, None));
            info.num_imported_globals += 1;
            EntityType::Global(g)
        }
        other => {
            return Err(CompileError::Unsupported(format!("import of {other:?}")));
        }
    };
    info.imports.push(Import {
        module: import.module.to_string(),
        name: import.name.to_string(),
        ty,
    });
    Ok(())
}

fn valtypes(types: &[wasmparser::ValType]) -> Result<Vec<ValType>, CompileError> {
    types.iter().map(|t| valtype(*t)).collect()
}

fn ref_type(r: wasmparser::RefType) -> Result<ValType, CompileError> {
    valtype(wasmparser::ValType::Ref(r))
}

fn table_type(t: wasmparser::TableType) -> Result<TableType, CompileError> {
    Ok(TableType {
        elem: ref_type(t.element_type)?,
        min: t.initial,
        max: t.maximum,
    })
}

fn memory_type(m: wasmparser::MemoryType) -> MemoryType {
    MemoryType {
        min: m.initial,
        max: m.maximum,
        shared: m.shared,
        memory64: m.memory64,
    }
}

fn global_type(g: wasmparser::GlobalType) -> Result<GlobalType, CompileError> {
    Ok(GlobalType {
        ty: valtype(g.content_type)?,
        mutable: g.mutable,
    })
}

fn export_kind(kind: ExternalKind) -> Result<ExportKind, CompileError> {
    Ok(match kind {
        ExternalKind::Func => ExportKind::Func,
        ExternalKind::Table => ExportKind::Table,
        ExternalKind::Memory => ExportKind::Memory,
        ExternalKind::Global => ExportKind::Global,
        other => return Err(CompileError::Unsupported(format!("export of {other:?}"))),
    })
}

fn elem_segment(elem: wasmparser::Element<'_>) -> Result<ElemSegment, CompileError> {
    let mode = match elem.kind {
        ElementKind::Passive => SegmentMode::Passive,
        ElementKind::Declared => SegmentMode::Declared,
        ElementKind::Active {
            table_index,
            offset_expr,
        } => SegmentMode::Active {
            index: table_index.unwrap_or(0),
            offset: const_expr(&offset_expr)?,
        },
    };
    let (ty, items) = match elem.items {
        // The compact form lists function indices; the runtime sees every
        // item as an expression so it has one evaluation path.
        ElementItems::Functions(reader) => {
            let items = reader
                .into_iter()
                .map(|f| Ok(ConstExpr(vec![ConstOp::RefFunc(f.map_err(invalid)?)])))
                .collect::<Result<_, CompileError>>()?;
            (ValType::FuncRef, items)
        }
        ElementItems::Expressions(ty, reader) => {
            let items = reader
                .into_iter()
                .map(|e| const_expr(&e.map_err(invalid)?))
                .collect::<Result<_, CompileError>>()?;
            (ref_type(ty)?, items)
        }
    };
    Ok(ElemSegment { mode, ty, items })
}

/// Translates a (validated) constant expression, without its final `end`.
pub(crate) fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr, CompileError> {
    let mut ops = Vec::new();
    let mut reader = expr.get_operators_reader();
    while !reader.eof() {
        let op = match reader.read().map_err(invalid)? {
            Operator::End => continue,
            Operator::I32Const { value } => ConstOp::I32Const(value),
            Operator::I64Const { value } => ConstOp::I64Const(value),
            Operator::F32Const { value } => ConstOp::F32Const(value.bits()),
            Operator::F64Const { value } => ConstOp::F64Const(value.bits()),
            Operator::V128Const { value } => ConstOp::V128Const(value.i128() as u128),
            Operator::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
            Operator::RefNull { hty } => {
                ConstOp::RefNull(ref_type(wasmparser::RefType::new(true, hty).ok_or_else(
                    || CompileError::Unsupported(format!("ref.null of heap type {hty:?}")),
                )?)?)
            }
            Operator::RefFunc { function_index } => ConstOp::RefFunc(function_index),
            Operator::I32Add => ConstOp::I32Add,
            Operator::I32Sub => ConstOp::I32Sub,
            Operator::I32Mul => ConstOp::I32Mul,
            Operator::I64Add => ConstOp::I64Add,
            Operator::I64Sub => ConstOp::I64Sub,
            Operator::I64Mul => ConstOp::I64Mul,
            other => {
                return Err(CompileError::Unsupported(format!(
                    "constant expression operator {other:?}"
                )));
            }
        };
        ops.push(op);
    }
    Ok(ConstExpr(ops))
}

/// The module's own name, if the name section gives one before any
/// damage.
fn module_name(names: wasmparser::NameSectionReader<'_>) -> Option<String> {
    for name in names {
        match name {
            Ok(Name::Module { name, .. }) => return Some(name.to_string()),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    None
}

/// Function names, sorted by index. Names are only for messages, so a
/// malformed name section yields whatever was read before the damage
/// rather than failing the compile.
fn func_names(names: wasmparser::NameSectionReader<'_>) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    'sections: for name in names {
        let Ok(Name::Function(map)) = name else {
            if name.is_err() {
                break;
            }
            continue;
        };
        for naming in map {
            let Ok(naming) = naming else {
                break 'sections;
            };
            out.push((naming.index, naming.name.to_string()));
        }
    }
    // Stable sort + dedup keeps the first name given for an index.
    out.sort_by_key(|(i, _)| *i);
    out.dedup_by_key(|(i, _)| *i);
    out
}
