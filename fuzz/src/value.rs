//! Values and outcomes in a form both engines can be compared in.

use faasm_abi::{TrapKind, ValType};
use std::fmt;

/// A WebAssembly value as the comparison sees it. Floats are bits; a
/// function reference is reduced to its type (neither engine gives a
/// portable identity); an `externref` is the host integer it wraps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    FuncRef(Option<String>),
    ExternRef(Option<u32>),
}

pub const CANONICAL_NAN_32: u32 = 0x7fc0_0000;
pub const CANONICAL_NAN_64: u64 = 0x7ff8_0000_0000_0000;

impl Value {
    /// NaNs of any sign and payload compare equal: the specification
    /// leaves NaN bits of arithmetic results nondeterministic.
    pub fn canonical(&self) -> Value {
        match *self {
            Value::F32(b) if f32::from_bits(b).is_nan() => Value::F32(CANONICAL_NAN_32),
            Value::F64(b) if f64::from_bits(b).is_nan() => Value::F64(CANONICAL_NAN_64),
            _ => self.clone(),
        }
    }

    pub fn ty(&self) -> ValType {
        match self {
            Value::I32(_) => ValType::I32,
            Value::I64(_) => ValType::I64,
            Value::F32(_) => ValType::F32,
            Value::F64(_) => ValType::F64,
            Value::V128(_) => ValType::V128,
            Value::FuncRef(_) => ValType::FuncRef,
            Value::ExternRef(_) => ValType::ExternRef,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I32(v) => write!(f, "i32:{v}"),
            Value::I64(v) => write!(f, "i64:{v}"),
            Value::F32(b) => write!(f, "f32:{:?}(0x{b:08x})", f32::from_bits(*b)),
            Value::F64(b) => write!(f, "f64:{:?}(0x{b:016x})", f64::from_bits(*b)),
            Value::V128(v) => write!(f, "v128:0x{v:032x}"),
            Value::FuncRef(None) => write!(f, "funcref:null"),
            Value::FuncRef(Some(t)) => write!(f, "funcref:{t}"),
            Value::ExternRef(None) => write!(f, "externref:null"),
            Value::ExternRef(Some(v)) => write!(f, "externref:{v}"),
        }
    }
}

/// A trap, in classes both engines can be mapped onto. Where the two
/// distinguish differently (an index past a table's end is "undefined
/// element" for us and "table out of bounds" for wasmi) the class is the
/// coarser one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrapClass {
    Unreachable,
    MemoryOutOfBounds,
    TableOutOfBounds,
    IndirectCallToNull,
    BadSignature,
    IntegerOverflow,
    IntegerDivisionByZero,
    BadConversionToInteger,
    StackOverflow,
    NullReference,
    /// Anything without a counterpart on the other side.
    Other,
}

impl TrapClass {
    pub fn from_faasm(kind: TrapKind) -> TrapClass {
        match kind {
            TrapKind::StackOverflow => TrapClass::StackOverflow,
            TrapKind::MemoryOutOfBounds => TrapClass::MemoryOutOfBounds,
            TrapKind::TableOutOfBounds | TrapKind::UndefinedElement => TrapClass::TableOutOfBounds,
            TrapKind::UninitializedElement => TrapClass::IndirectCallToNull,
            TrapKind::BadSignature => TrapClass::BadSignature,
            TrapKind::IntegerOverflow => TrapClass::IntegerOverflow,
            TrapKind::IntegerDivisionByZero => TrapClass::IntegerDivisionByZero,
            TrapKind::BadConversionToInteger => TrapClass::BadConversionToInteger,
            TrapKind::Unreachable => TrapClass::Unreachable,
            TrapKind::NullReference => TrapClass::NullReference,
            TrapKind::Interrupt
            | TrapKind::HostError
            | TrapKind::UnalignedAtomic
            | TrapKind::ExpectedSharedMemory => TrapClass::Other,
        }
    }

    pub fn from_wasmi(code: wasmi::TrapCode) -> TrapClass {
        use wasmi::TrapCode as C;
        match code {
            C::UnreachableCodeReached => TrapClass::Unreachable,
            C::MemoryOutOfBounds => TrapClass::MemoryOutOfBounds,
            C::TableOutOfBounds => TrapClass::TableOutOfBounds,
            C::IndirectCallToNull => TrapClass::IndirectCallToNull,
            C::IntegerDivisionByZero => TrapClass::IntegerDivisionByZero,
            C::IntegerOverflow => TrapClass::IntegerOverflow,
            C::BadConversionToInteger => TrapClass::BadConversionToInteger,
            C::StackOverflow => TrapClass::StackOverflow,
            C::BadSignature => TrapClass::BadSignature,
            C::OutOfFuel | C::GrowthOperationLimited | C::OutOfSystemMemory => TrapClass::Other,
        }
    }
}

/// What one call (or instantiation) did on one engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Returned(Vec<Value>),
    Trapped(TrapClass),
    /// Not a wasm-level result; the comparison is skipped with this reason.
    Inconclusive(&'static str),
    /// A host-side error that is neither a result nor a trap.
    Error(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Returned(vals) => {
                write!(f, "returned [")?;
                for (i, v) in vals.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Outcome::Trapped(c) => write!(f, "trapped ({c:?})"),
            Outcome::Inconclusive(why) => write!(f, "inconclusive ({why})"),
            Outcome::Error(e) => write!(f, "error ({e})"),
        }
    }
}

/// The observable state of an instance after a call: exported globals,
/// memories (full contents, compared bytewise) and tables (size and which
/// entries are null).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub globals: Vec<(String, Value)>,
    pub memories: Vec<(String, Vec<u8>)>,
    pub tables: Vec<(String, Vec<bool>)>,
}

impl State {
    /// Orders entities by export name (the engines list exports in
    /// different orders).
    pub fn sorted(mut self) -> State {
        self.globals.sort_by(|a, b| a.0.cmp(&b.0));
        self.memories.sort_by(|a, b| a.0.cmp(&b.0));
        self.tables.sort_by(|a, b| a.0.cmp(&b.0));
        self
    }

    /// The first difference between two states, described.
    pub fn diff(&self, other: &State) -> Option<String> {
        for ((n, a), (_, b)) in self.globals.iter().zip(&other.globals) {
            if a.canonical() != b.canonical() {
                return Some(format!("global `{n}`: faasm {a}, wasmi {b}"));
            }
        }
        for ((n, a), (_, b)) in self.memories.iter().zip(&other.memories) {
            if a.len() != b.len() {
                return Some(format!(
                    "memory `{n}` size: faasm {} bytes, wasmi {} bytes",
                    a.len(),
                    b.len()
                ));
            }
            if let Some(at) = a.iter().zip(b).position(|(x, y)| x != y) {
                let end = (at + 16).min(a.len());
                return Some(format!(
                    "memory `{n}` differs at offset {at} (hash faasm {:016x}, wasmi {:016x}): faasm {:02x?}, wasmi {:02x?}",
                    fnv1a(a),
                    fnv1a(b),
                    &a[at..end],
                    &b[at..end]
                ));
            }
        }
        for ((n, a), (_, b)) in self.tables.iter().zip(&other.tables) {
            if a.len() != b.len() {
                return Some(format!(
                    "table `{n}` size: faasm {}, wasmi {}",
                    a.len(),
                    b.len()
                ));
            }
            if let Some(i) = a.iter().zip(b).position(|(x, y)| x != y) {
                return Some(format!(
                    "table `{n}` entry {i}: faasm null={}, wasmi null={}",
                    a[i], b[i]
                ));
            }
        }
        let counts = |s: &State| (s.globals.len(), s.memories.len(), s.tables.len());
        if counts(self) != counts(other) {
            return Some(format!(
                "exported entity counts (globals, memories, tables): faasm {:?}, wasmi {:?}",
                counts(self),
                counts(other)
            ));
        }
        None
    }
}

/// FNV-1a over a memory image, for reports.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
