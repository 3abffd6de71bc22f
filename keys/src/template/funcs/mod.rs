//! The function registry: Go's builtins, sprig's generic functions (minus `env`,
//! `expandenv`, `getHostByName`) and ESO's own functions, each with its Go signature.
//!
//! Go checks argument types against a function's parameter types (`text/template/exec.go`
//! `evalArg` / `validateType`): a number literal given to a `string` parameter is an error,
//! a piped `int` given to a `string` parameter is an error. [`Ty`] records those parameter
//! types so the evaluator can reproduce the same checks and messages.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::FuncSet;
use super::error::FuncError;
use super::value::Value;

pub(crate) mod builtins;
pub(crate) mod eso;
pub(crate) mod sprig;

/// A Go parameter type, as far as template argument checking needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    /// `interface{}` / `reflect.Value`: anything, including nil.
    Any,
    /// `string`
    Str,
    /// `int` / `int64`
    Int,
    /// `float64`
    Float,
    /// `bool`
    Bool,
    /// `map[string]interface{}`
    Map,
    /// `time.Time`
    Time,
}

impl Ty {
    /// The Go spelling, for error messages.
    pub fn go_name(self) -> &'static str {
        match self {
            Ty::Any => "interface {}",
            Ty::Str => "string",
            Ty::Int => "int",
            Ty::Float => "float64",
            Ty::Bool => "bool",
            Ty::Map => "map[string]interface {}",
            Ty::Time => "time.Time",
        }
    }
}

/// What a function implementation may consult while running.
pub(crate) struct CallCtx {
    /// The largest string a function may build (the template's output limit).
    pub max_size: usize,
}

impl CallCtx {
    /// Refuses results that could never fit in the output.
    pub fn check_size(&self, n: usize) -> Result<(), FuncError> {
        if n > self.max_size {
            return Err(FuncError::TooLarge);
        }
        Ok(())
    }
}

/// A function implementation: receives arguments already converted to the parameter types.
pub(crate) type Imp = fn(&CallCtx, Vec<Value>) -> Result<Value, FuncError>;

/// One registered function.
pub(crate) struct FuncDef {
    pub params: &'static [Ty],
    pub variadic: Option<Ty>,
    pub imp: Imp,
    /// Go mutates this map argument in place (`set`, `unset`, `merge`…); the evaluator
    /// writes the result back to the variable it came from.
    pub mutates: Option<usize>,
}

/// Shorthand used by the function tables.
pub(crate) const fn f(params: &'static [Ty], imp: Imp) -> FuncDef {
    FuncDef {
        params,
        variadic: None,
        imp,
        mutates: None,
    }
}

/// Shorthand for a variadic function.
pub(crate) const fn fv(params: &'static [Ty], variadic: Ty, imp: Imp) -> FuncDef {
    FuncDef {
        params,
        variadic: Some(variadic),
        imp,
        mutates: None,
    }
}

type Table = HashMap<&'static str, FuncDef>;

static SPRIG: LazyLock<Table> = LazyLock::new(|| {
    let mut t = Table::new();
    builtins::register(&mut t);
    sprig::register(&mut t);
    t
});

static ESO: LazyLock<Table> = LazyLock::new(|| {
    let mut t = Table::new();
    builtins::register(&mut t);
    sprig::register(&mut t);
    eso::register(&mut t);
    t
});

/// Functions that upstream defines but sealbox deliberately leaves out (a clear parse error
/// instead of a silent difference). See the module docs of [`super`].
pub(crate) const UNSUPPORTED: &[&str] = &[
    "genPrivateKey",
    "derivePassword",
    "buildCustomCert",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "encryptAES",
    "decryptAES",
    "semver",
    "semverCompare",
    "urlParse",
    "urlJoin",
    "typeOf",
    "typeIs",
    "typeIsLike",
];

/// Looks a function up in a function set.
pub(crate) fn lookup(set: FuncSet, name: &str) -> Option<&'static FuncDef> {
    match set {
        FuncSet::Sprig => SPRIG.get(name),
        FuncSet::EsoV2 => ESO.get(name),
    }
}

/// Names of all functions in a set (sorted), for documentation and tests.
pub fn names(set: FuncSet) -> Vec<&'static str> {
    let t = match set {
        FuncSet::Sprig => &*SPRIG,
        FuncSet::EsoV2 => &*ESO,
    };
    let mut v: Vec<&'static str> = t.keys().copied().collect();
    v.sort_unstable();
    v
}

// ---- helpers shared by the function modules -------------------------------------------

/// Takes the string bytes of an argument already checked to be `Ty::Str`.
pub(crate) fn take_str(v: &mut [Value], i: usize) -> Vec<u8> {
    match std::mem::replace(&mut v[i], Value::Nil) {
        Value::String(s) => s,
        _ => Vec::new(),
    }
}

/// The int of an argument already checked to be `Ty::Int`.
pub(crate) fn int_arg(v: &[Value], i: usize) -> i64 {
    match v[i] {
        Value::Int(n) => n,
        _ => 0,
    }
}

/// sprig's `strval`: strings as they are, everything else through `fmt.Sprintf("%v")`.
pub(crate) fn strval(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.clone(),
        other => super::gofmt::sprint_value(other),
    }
}

/// A Go string result.
pub(crate) fn s(b: impl Into<Vec<u8>>) -> Result<Value, FuncError> {
    Ok(Value::String(b.into()))
}
