//! Go `text/template` with the sprig and ESO function sets.
//!
//! SealedSecret templates (`spec.template.data`, rendered by the Bitnami controller) and
//! ExternalSecret templates (ESO engine v2) are Go templates that live in Git. sealbox must
//! render them byte-for-byte as Go does, so this module is a Go-faithful engine:
//!
//! ```
//! use sealbox_keys::template::{FuncSet, Template, Value};
//! let t = Template::parse("dsn", r#"postgres://{{ index . "db-user" }}:{{ .pass | urlquery }}@db"#, FuncSet::Sprig)?;
//! let data = Value::string_map([("db-user", "app"), ("pass", "p&q")]);
//! assert_eq!(t.execute(&data)?, b"postgres://app:p%26q@db");
//! # Ok::<(), sealbox_keys::template::TemplateError>(())
//! ```
//!
//! # Decision: our own engine, not `gtmpl`
//!
//! `gtmpl` 0.7.1 (the only Go-template crate) was evaluated and rejected:
//! * **byte strings**: its value type (`gtmpl_value`) holds Rust `String`s, so a non-UTF-8
//!   secret cannot pass through `{{ .blob }}` unchanged — a hard requirement;
//! * **functions**: registered functions are plain `fn(&[Value]) -> Result<Value, FuncError>`
//!   with no parameter types, so Go's argument checks (`wrong type for value; expected
//!   string; got int`) cannot be reproduced, and its errors carry values via `anyhow`;
//! * **semantics**: no `html`/`js` builtins, `printf` "not yet fully stable", no
//!   `break`/`continue` (Go 1.18), no `else with` (Go 1.23), no range over integers (Go 1.22);
//! * **safety**: no output, recursion or step limits for untrusted templates;
//! * **maintenance**: last release August 2021, "passively maintained".
//!
//! So the engine is written here, one module per stage, each following a Go source file:
//! * [`lex`](self) — `text/template/parse/lex.go` (delimiters, trim markers, comments);
//! * `parse` + `ast` — `text/template/parse/parse.go` and `node.go`;
//! * `exec` — `text/template/exec.go` (pipelines, `evalArg`/`validateType`, `missingkey`);
//! * `funcs::builtins` — `text/template/funcs.go`;
//! * `gofmt` — `fmt/print.go`, `fmt/format.go`, `strconv/ftoa.go`, `strconv/quote.go`;
//! * `json` — `encoding/json/encode.go` (HTML escaping, sorted keys, float format);
//! * `gotime` — `time/format.go` (Go reference layouts) and `Duration.String`;
//! * `funcs::sprig` — `Masterminds/sprig` v3 (`functions.go` and the files it names);
//! * `funcs::eso` — ESO `runtime/template/v2/*.go`.
//!
//! # Function sets
//! [`FuncSet::Sprig`] is what the Bitnami controller registers (`sprig.GenericFuncMap()`
//! minus `env`, `expandenv`, `getHostByName`); [`FuncSet::EsoV2`] adds ESO's functions
//! (`pkcs12key(Pass)`, `pkcs12cert(Pass)`, `pemToPkcs12(Pass)`, `fullPemToPkcs12(Pass)`,
//! `pemTruststoreToPKCS12(Pass)`, `filterPEM`, `filterCertChain`, `certSANs`,
//! `jwkPublicKeyPem`, `jwkPrivateKeyPem`, `toYaml`, `fromYaml`, `rsaDecrypt`, and ESO's
//! vendored-sprig extra `hexdec`). [`function_names`] lists them.
//!
//! Deliberately **not supported** (a parse error "function X is not supported by sealbox"
//! rather than a silent difference): sprig's certificate/key generators (`genPrivateKey`,
//! `genCA*`, `genSelfSignedCert*`, `genSignedCert*`, `buildCustomCert`), `derivePassword`,
//! `encryptAES`/`decryptAES`, `semver`/`semverCompare` (Masterminds/semver constraint
//! grammar), `urlParse`/`urlJoin` (Go `net/url` parsing rules), and `typeOf`/`typeIs`/
//! `typeIsLike` (they print Go static types such as `int64` vs `int` that this engine does
//! not track). `env`, `expandenv`, `getHostByName` are undefined, as upstream.
//!
//! # Known, documented differences from Go
//! * integers are one type: Go rejects an `int64` (sprig `add`) passed to an `int`
//!   parameter; sealbox accepts it. `kindOf` reports `int` for all integers.
//! * maps are values: Go mutates a map in place in `set`/`unset`/`merge`; sealbox writes the
//!   result back when the map argument is a variable (`{{ $_ := set $d "k" "v" }}`), which
//!   covers the idiom, but not aliases of the same map held elsewhere.
//! * `b64dec`/`b32dec`/`hexdec` on invalid input return Go's error text *as output*, as sprig
//!   does (e.g. `illegal base64 data at input byte 4`); the text never contains the input.
//! * messages never contain data values (Go's sometimes do); `fail` shows its message only
//!   when it is a string literal in the template.
//! * Go's `unicode.IsPrint` (used by `%q`, `quote`) is approximated outside Latin-1.
//! * at most 100 nested parentheses/control structures (Go: 10 000).
//!
//! # Resource limits
//! Templates come from Git and are untrusted: [`Limits`] bounds the output size (default
//! 1 MiB, the Kubernetes Secret size limit), `{{template}}` call depth (default 100) and an
//! evaluation step budget (default 10 million), each with a clear [`ErrorKind`].

mod ast;
mod error;
mod exec;
pub(crate) mod funcs;
mod gofmt;
mod gotime;
mod json;
mod lex;
mod parse;
mod value;

use std::sync::Arc;

pub use error::{ErrorDetails, ErrorKind, FuncError, Location, TemplateError};
pub use gotime::GoTime;
pub use value::Value;

/// Which functions templates may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FuncSet {
    /// Go builtins + sprig generic functions minus `env`, `expandenv`, `getHostByName`
    /// (the Bitnami Sealed Secrets controller).
    Sprig,
    /// [`FuncSet::Sprig`] + ESO's own template functions (ESO template engine v2).
    EsoV2,
}

/// Go's `missingkey` option: what a field access on a map yields for an absent key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// `missingkey=default`/`invalid`: "no value", printed as `<no value>` (Bitnami).
    #[default]
    Invalid,
    /// `missingkey=zero`: the zero value of the map's element type.
    Zero,
    /// `missingkey=error`: execution fails (ESO sets this).
    Error,
}

/// Resource limits for executing an untrusted template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum output size in bytes (also caps strings built by functions).
    pub max_output: usize,
    /// Maximum nesting of `{{template}}` calls.
    pub max_depth: usize,
    /// Maximum evaluation steps (nodes walked + commands evaluated + range iterations).
    pub max_steps: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_output: 1 << 20,
            max_depth: 100,
            max_steps: 10_000_000,
        }
    }
}

/// Everything that configures a template besides its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The function set.
    pub funcs: FuncSet,
    /// Left action delimiter (`{{` when empty, as in Go).
    pub left_delim: String,
    /// Right action delimiter (`}}` when empty).
    pub right_delim: String,
    /// The `missingkey` option.
    pub missing_key: MissingKey,
    /// Resource limits.
    pub limits: Limits,
}

impl Options {
    /// The options each controller uses: Bitnami (`Sprig`) renders missing keys as
    /// `<no value>`; ESO (`EsoV2`) sets `missingkey=error`.
    pub fn for_funcs(funcs: FuncSet) -> Options {
        Options {
            funcs,
            left_delim: String::new(),
            right_delim: String::new(),
            missing_key: match funcs {
                FuncSet::Sprig => MissingKey::Invalid,
                FuncSet::EsoV2 => MissingKey::Error,
            },
            limits: Limits::default(),
        }
    }
}

struct Inner {
    name: String,
    text: String,
    trees: parse::TreeSet,
    options: Options,
}

/// A parsed template: parse once, execute many times (cheap to clone, `Send + Sync`).
#[derive(Clone)]
pub struct Template {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("name", &self.inner.name)
            .field("funcs", &self.inner.options.funcs)
            .finish_non_exhaustive()
    }
}

fn func_status(set: FuncSet, name: &str) -> parse::FuncStatus {
    if funcs::lookup(set, name).is_some() {
        parse::FuncStatus::Defined
    } else if funcs::UNSUPPORTED.contains(&name) {
        parse::FuncStatus::Unsupported
    } else {
        parse::FuncStatus::Undefined
    }
}

impl Template {
    /// Parses `text` as template `name` with the controller-default options for `funcs`.
    pub fn parse(name: &str, text: &str, funcs: FuncSet) -> Result<Template, TemplateError> {
        Self::parse_with_options(name, text, Options::for_funcs(funcs))
    }

    /// Like [`Template::parse`] with custom action delimiters (ESO's
    /// `--template-left-delimiter` / `--template-right-delimiter`).
    pub fn parse_with_delims(
        name: &str,
        text: &str,
        funcs: FuncSet,
        left: &str,
        right: &str,
    ) -> Result<Template, TemplateError> {
        let mut o = Options::for_funcs(funcs);
        o.left_delim = left.to_string();
        o.right_delim = right.to_string();
        Self::parse_with_options(name, text, o)
    }

    /// Parses with explicit [`Options`].
    pub fn parse_with_options(
        name: &str,
        text: &str,
        options: Options,
    ) -> Result<Template, TemplateError> {
        let set = options.funcs;
        let status = move |n: &str| func_status(set, n);
        let trees = parse::parse(
            name,
            text,
            &options.left_delim,
            &options.right_delim,
            &status,
        )?;
        Ok(Template {
            inner: Arc::new(Inner {
                name: name.to_string(),
                text: text.to_string(),
                trees,
                options,
            }),
        })
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Names of the templates defined in this text (`define`/`block`), plus the main one.
    pub fn defined_templates(&self) -> Vec<String> {
        let mut v: Vec<String> = self.inner.trees.keys().cloned().collect();
        v.sort();
        v
    }

    /// Executes the template over `data` (usually [`Value::string_map`]).
    pub fn execute(&self, data: &Value) -> Result<Vec<u8>, TemplateError> {
        let i = &self.inner;
        exec::Exec::new(
            &i.text,
            &i.name,
            &i.trees,
            i.options.funcs,
            i.options.missing_key,
            i.options.limits,
        )
        .run(data)
    }
}

/// Names of all functions available in a function set (sorted).
pub fn function_names(set: FuncSet) -> Vec<&'static str> {
    funcs::names(set)
}

/// Fuzzing entry point: parses arbitrary bytes (lossily as UTF-8) with both function sets
/// and, when parsing succeeds, executes over a small fixed data map with tight limits.
/// Must never panic; returns whether parsing succeeded.
pub fn parse_for_fuzzing(input: &[u8]) -> bool {
    let text = String::from_utf8_lossy(input);
    let mut ok = false;
    for set in [FuncSet::Sprig, FuncSet::EsoV2] {
        let mut o = Options::for_funcs(set);
        o.limits = Limits {
            max_output: 1 << 16,
            max_depth: 20,
            max_steps: 100_000,
        };
        if let Ok(t) = Template::parse_with_options("fuzz", &text, o) {
            ok = true;
            let data = Value::string_map([("a", b"1".to_vec()), ("b", vec![0xff, 0x00])]);
            let _ = t.execute(&data);
        }
    }
    ok
}
