//! Consistency of [`ModuleInfo`] as the runtime relies on it: every count,
//! index and constant-expression type that instantiation and calls index
//! with. faasmc only writes consistent metadata (it comes from a validated
//! module); this is defence in depth for artifacts read back from disk.

use crate::module::{ConstExpr, ConstOp, EntityType, ExportKind, ModuleInfo, SegmentMode, ValType};

impl ModuleInfo {
    /// Checks the metadata; the error names the first inconsistency.
    pub fn validate(&self) -> Result<(), String> {
        let ntypes = self.types.len();
        let nfuncs = self.funcs.len();
        let nglobals = self.globals.len();

        // Imports: the per-kind counts, and imported entities come first.
        let (mut f, mut t, mut m, mut g) = (0usize, 0usize, 0usize, 0usize);
        for (i, import) in self.imports.iter().enumerate() {
            match &import.ty {
                EntityType::Func(ty) => {
                    if self.funcs.get(f) != Some(ty) || *ty as usize >= ntypes {
                        return Err(format!("import {i}: function type {ty} inconsistent"));
                    }
                    f += 1;
                }
                EntityType::Table(ty) => {
                    if self.tables.get(t) != Some(ty) {
                        return Err(format!("import {i}: table type inconsistent"));
                    }
                    t += 1;
                }
                EntityType::Memory(ty) => {
                    if self.memories.get(m) != Some(ty) {
                        return Err(format!("import {i}: memory type inconsistent"));
                    }
                    m += 1;
                }
                EntityType::Global(ty) => {
                    if !matches!(self.globals.get(g), Some((gt, None)) if gt == ty) {
                        return Err(format!("import {i}: global type inconsistent"));
                    }
                    g += 1;
                }
            }
        }
        let counts = [
            ("function", f, self.num_imported_funcs),
            ("table", t, self.num_imported_tables),
            ("memory", m, self.num_imported_memories),
            ("global", g, self.num_imported_globals),
        ];
        for (what, n, claimed) in counts {
            if n as u64 != claimed as u64 {
                return Err(format!("{claimed} imported {what}s claimed, {n} imported"));
            }
        }

        for (i, ty) in self.funcs.iter().enumerate() {
            if *ty as usize >= ntypes {
                return Err(format!("function {i}: type index {ty} out of range"));
            }
        }
        for (i, table) in self.tables.iter().enumerate() {
            if !table.elem.is_ref() || table.max.is_some_and(|max| max < table.min) {
                return Err(format!("table {i}: bad type"));
            }
        }
        for (i, mem) in self.memories.iter().enumerate() {
            if mem.max.is_some_and(|max| max < mem.min) {
                return Err(format!("memory {i}: bad limits"));
            }
        }

        // Globals: defined ones have an initialiser of their type that
        // reads only globals before them.
        for (i, (ty, init)) in self.globals.iter().enumerate() {
            match init {
                None if i < g => {}
                Some(init) if i >= g => self
                    .const_type(init, i, ty.ty)
                    .map_err(|e| format!("global {i}: {e}"))?,
                _ => return Err(format!("global {i}: initialiser presence inconsistent")),
            }
        }

        for (i, e) in self.exports.iter().enumerate() {
            let n = match e.kind {
                ExportKind::Func => nfuncs,
                ExportKind::Table => self.tables.len(),
                ExportKind::Memory => self.memories.len(),
                ExportKind::Global => nglobals,
            };
            if e.index as usize >= n {
                return Err(format!("export {i}: index {} out of range", e.index));
            }
        }
        if let Some(start) = self.start {
            let ty = self
                .funcs
                .get(start as usize)
                .ok_or_else(|| format!("start function {start} out of range"))?;
            let ty = &self.types[*ty as usize];
            if !ty.params.is_empty() || !ty.results.is_empty() {
                return Err("start function has params or results".into());
            }
        }

        for (i, seg) in self.data.iter().enumerate() {
            match &seg.mode {
                SegmentMode::Active { index, offset } => {
                    let Some(mem) = self.memories.get(*index as usize) else {
                        return Err(format!("data {i}: memory {index} out of range"));
                    };
                    let ty = if mem.memory64 {
                        ValType::I64
                    } else {
                        ValType::I32
                    };
                    self.const_type(offset, nglobals, ty)
                        .map_err(|e| format!("data {i} offset: {e}"))?;
                }
                SegmentMode::Passive => {}
                SegmentMode::Declared => return Err(format!("data {i}: declared")),
            }
        }
        for (i, seg) in self.elems.iter().enumerate() {
            if !seg.ty.is_ref() {
                return Err(format!("elem {i}: not a reference type"));
            }
            if let SegmentMode::Active { index, offset } = &seg.mode {
                match self.tables.get(*index as usize) {
                    Some(table) if table.elem == seg.ty => {}
                    _ => return Err(format!("elem {i}: table {index} out of range or mistyped")),
                }
                self.const_type(offset, nglobals, ValType::I32)
                    .map_err(|e| format!("elem {i} offset: {e}"))?;
            }
            for item in &seg.items {
                self.const_type(item, nglobals, seg.ty)
                    .map_err(|e| format!("elem {i} item: {e}"))?;
            }
        }

        if self.func_names.iter().any(|(f, _)| *f as usize >= nfuncs)
            || !self.func_names.windows(2).all(|w| w[0].0 < w[1].0)
        {
            return Err("function names out of range or unsorted".into());
        }
        Ok(())
    }

    /// Type-checks `expr`, which may read globals `0..visible`, against
    /// `want`.
    fn const_type(&self, expr: &ConstExpr, visible: usize, want: ValType) -> Result<(), String> {
        use ValType::*;
        let mut stack: Vec<ValType> = Vec::new();
        for op in &expr.0 {
            let ty = match *op {
                ConstOp::I32Const(_) => I32,
                ConstOp::I64Const(_) => I64,
                ConstOp::F32Const(_) => F32,
                ConstOp::F64Const(_) => F64,
                ConstOp::V128Const(_) => V128,
                ConstOp::GlobalGet(g) if (g as usize) < visible => self.globals[g as usize].0.ty,
                ConstOp::GlobalGet(g) => return Err(format!("global.get {g} not readable")),
                ConstOp::RefNull(t) if t.is_ref() => t,
                ConstOp::RefNull(_) => return Err("ref.null of a non-reference type".into()),
                ConstOp::RefFunc(f) if (f as usize) < self.funcs.len() => FuncRef,
                ConstOp::RefFunc(f) => return Err(format!("ref.func {f} out of range")),
                ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                    pop2(&mut stack, I32)?;
                    I32
                }
                ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                    pop2(&mut stack, I64)?;
                    I64
                }
            };
            stack.push(ty);
        }
        if stack != [want] {
            return Err(format!("yields {stack:?}, expected {want}"));
        }
        Ok(())
    }
}

fn pop2(stack: &mut Vec<ValType>, ty: ValType) -> Result<(), String> {
    for _ in 0..2 {
        if stack.pop() != Some(ty) {
            return Err(format!("{ty} operator without two {ty} operands"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::module::*;

    fn sample() -> ModuleInfo {
        let unit = FuncType::default();
        let i32_to_i32 = FuncType {
            params: vec![ValType::I32],
            results: vec![ValType::I32],
        };
        let gty = GlobalType {
            ty: ValType::I32,
            mutable: false,
        };
        let table = TableType {
            elem: ValType::FuncRef,
            min: 1,
            max: None,
        };
        ModuleInfo {
            types: vec![unit, i32_to_i32],
            imports: vec![
                Import {
                    module: "env".into(),
                    name: "f".into(),
                    ty: EntityType::Func(1),
                },
                Import {
                    module: "env".into(),
                    name: "g".into(),
                    ty: EntityType::Global(gty),
                },
            ],
            funcs: vec![1, 0],
            tables: vec![table],
            memories: vec![MemoryType {
                min: 1,
                max: Some(2),
                shared: false,
                memory64: false,
            }],
            globals: vec![
                (gty, None),
                (
                    gty,
                    Some(ConstExpr(vec![
                        ConstOp::GlobalGet(0),
                        ConstOp::I32Const(1),
                        ConstOp::I32Add,
                    ])),
                ),
            ],
            exports: vec![Export {
                name: "run".into(),
                kind: ExportKind::Func,
                index: 1,
            }],
            start: Some(1),
            data: vec![DataSegment {
                mode: SegmentMode::Active {
                    index: 0,
                    offset: ConstExpr(vec![ConstOp::GlobalGet(1)]),
                },
                bytes: vec![1, 2],
            }],
            elems: vec![ElemSegment {
                mode: SegmentMode::Active {
                    index: 0,
                    offset: ConstExpr(vec![ConstOp::I32Const(0)]),
                },
                ty: ValType::FuncRef,
                items: vec![ConstExpr(vec![ConstOp::RefFunc(1)])],
            }],
            num_imported_funcs: 1,
            num_imported_tables: 0,
            num_imported_memories: 0,
            num_imported_globals: 1,
            func_names: vec![(0, "f".into()), (1, "run".into())],
            module_name: Some("sample".into()),
        }
    }

    #[test]
    fn consistent_metadata_passes() {
        assert_eq!(sample().validate(), Ok(()));
        assert_eq!(ModuleInfo::default().validate(), Ok(()));
    }

    #[test]
    fn every_inconsistency_is_refused() {
        type Edit = fn(&mut ModuleInfo);
        let cases: Vec<(&str, Edit)> = vec![
            ("imported count", |m| m.num_imported_funcs = 2),
            ("imported globals", |m| m.num_imported_globals = 0),
            ("import type", |m| m.imports[0].ty = EntityType::Func(0)),
            ("func type index", |m| m.funcs[1] = 2),
            ("table limits", |m| m.tables[0].max = Some(0)),
            ("table elem", |m| m.tables[0].elem = ValType::I64),
            ("memory limits", |m| m.memories[0].max = Some(0)),
            ("global init type", |m| {
                m.globals[1].1 = Some(ConstExpr(vec![ConstOp::I64Const(1)]))
            }),
            ("global init later global", |m| {
                m.globals[1].1 = Some(ConstExpr(vec![ConstOp::GlobalGet(1)]))
            }),
            ("global init missing", |m| m.globals[1].1 = None),
            ("imported global with init", |m| {
                m.globals[0].1 = Some(ConstExpr(vec![ConstOp::I32Const(0)]))
            }),
            ("empty const expr", |m| {
                m.globals[1].1 = Some(ConstExpr(vec![]))
            }),
            ("operator underflow", |m| {
                m.globals[1].1 = Some(ConstExpr(vec![ConstOp::I32Add]))
            }),
            ("two values", |m| {
                m.globals[1].1 = Some(ConstExpr(vec![ConstOp::I32Const(0), ConstOp::I32Const(0)]))
            }),
            ("export index", |m| m.exports[0].index = 2),
            ("export kind", |m| m.exports[0].kind = ExportKind::Memory),
            ("start index", |m| m.start = Some(9)),
            ("start type", |m| m.start = Some(0)),
            ("data memory", |m| {
                m.data[0].mode = SegmentMode::Active {
                    index: 1,
                    offset: ConstExpr(vec![ConstOp::I32Const(0)]),
                }
            }),
            ("data offset type", |m| {
                m.data[0].mode = SegmentMode::Active {
                    index: 0,
                    offset: ConstExpr(vec![ConstOp::F32Const(0)]),
                }
            }),
            ("elem item", |m| {
                m.elems[0].items[0] = ConstExpr(vec![ConstOp::RefFunc(2)])
            }),
            ("elem item type", |m| {
                m.elems[0].items[0] = ConstExpr(vec![ConstOp::RefNull(ValType::ExternRef)])
            }),
            ("elem table", |m| {
                m.elems[0].mode = SegmentMode::Active {
                    index: 3,
                    offset: ConstExpr(vec![ConstOp::I32Const(0)]),
                }
            }),
            ("func names", |m| m.func_names.reverse()),
        ];
        for (what, edit) in cases {
            let mut m = sample();
            edit(&mut m);
            assert!(m.validate().is_err(), "{what} accepted");
        }
    }
}
