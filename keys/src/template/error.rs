//! Template errors: where (template, line, column) and what went wrong — never a data value.
//!
//! Template data are secrets. Go's own messages sometimes quote a value (`range can't iterate
//! over <value>`, `non-comparable types <value>`); ours name only types, keys that appear in
//! the template text, and positions. Function errors carry a [`FuncError`] whose text is
//! written by this engine, never copied from an input.

use std::fmt;

/// Where an error happened: the template name and a position inside its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Name of the template (the key in `spec.template.data`, or a `define` name).
    pub template: String,
    /// 1-based line number.
    pub line: usize,
    /// Byte offset of the position within its line, 0-based, as Go prints it.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.template, self.line, self.column)
    }
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The template text is not valid Go template syntax.
    Syntax(String),
    /// A function name that neither Go, sprig nor (for ESO) ESO define.
    UnknownFunction(String),
    /// A function upstream has but sealbox deliberately does not implement.
    UnsupportedFunction(String),
    /// Wrong number of arguments for a function.
    ArgCount {
        /// Function name.
        function: String,
        /// What the function accepts, e.g. `2` or `at least 1`.
        expected: String,
        /// How many were given.
        got: usize,
    },
    /// An argument of the wrong Go type (types only, never values).
    ArgType(String),
    /// `missingkey=error` and the map has no such key.
    MissingKey(String),
    /// A function returned an error.
    Function {
        /// Function name.
        function: String,
        /// The function's message (written by sealbox, free of data values).
        message: String,
    },
    /// `fail` was called.
    Fail(String),
    /// Any other execution error, e.g. `can't evaluate field x in type string`.
    Exec(String),
    /// The rendered output would exceed the configured maximum.
    OutputTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// `{{template}}` calls nested too deeply (likely unbounded recursion).
    DepthExceeded {
        /// The limit.
        limit: usize,
    },
    /// The template used more evaluation steps than allowed.
    BudgetExceeded {
        /// The limit.
        limit: u64,
    },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Syntax(m) | ErrorKind::ArgType(m) | ErrorKind::Exec(m) => f.write_str(m),
            ErrorKind::UnknownFunction(name) => write!(f, "function {name:?} not defined"),
            ErrorKind::UnsupportedFunction(name) => {
                write!(f, "function {name:?} is not supported by sealbox")
            }
            ErrorKind::ArgCount {
                function,
                expected,
                got,
            } => write!(
                f,
                "wrong number of args for {function}: want {expected} got {got}"
            ),
            ErrorKind::MissingKey(key) => write!(f, "map has no entry for key {key:?}"),
            ErrorKind::Function { function, message } => {
                write!(f, "error calling {function}: {message}")
            }
            ErrorKind::Fail(message) => write!(f, "error calling fail: {message}"),
            ErrorKind::OutputTooLarge { limit } => {
                write!(f, "output exceeds the maximum of {limit} bytes")
            }
            ErrorKind::DepthExceeded { limit } => {
                write!(f, "exceeded maximum template depth ({limit})")
            }
            ErrorKind::BudgetExceeded { limit } => {
                write!(
                    f,
                    "template exceeded its evaluation budget of {limit} steps"
                )
            }
        }
    }
}

/// The details of a [`TemplateError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetails {
    /// Where it happened.
    pub location: Location,
    /// The node being executed (template source text, e.g. `b64dec .x`), if any.
    pub context: Option<String>,
    /// Name of the template being executed (differs from `location.template` only inside
    /// `{{template}}` calls, as in Go).
    pub executing: Option<String>,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// An error from parsing or executing a template. Boxed so `Result`s stay small.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TemplateError {
    details: Box<ErrorDetails>,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.details;
        write!(f, "template: {}: ", d.location)?;
        if let (Some(exec), Some(ctx)) = (&d.executing, &d.context) {
            write!(f, "executing {exec:?} at <{ctx}>: ")?;
        }
        write!(f, "{}", d.kind)
    }
}

impl TemplateError {
    /// Wraps error details.
    pub fn new(details: ErrorDetails) -> Self {
        TemplateError {
            details: Box::new(details),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.details.kind
    }

    /// Where it happened.
    pub fn location(&self) -> &Location {
        &self.details.location
    }

    /// The template source of the node being executed, if any.
    pub fn context(&self) -> Option<&str> {
        self.details.context.as_deref()
    }

    /// All details.
    pub fn details(&self) -> &ErrorDetails {
        &self.details
    }

    /// The template name the error is about.
    pub fn template(&self) -> &str {
        &self.details.location.template
    }
}

/// An error returned by a template function. The message must not contain argument values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FuncError {
    /// A plain failure with an engine-written message.
    Message(String),
    /// A Go type error on an argument (becomes [`ErrorKind::ArgType`]).
    Type(String),
    /// `fail`'s message; shown only when it is a literal in the template text.
    Fail(String),
    /// The result would be larger than the output limit.
    TooLarge,
}

impl FuncError {
    /// Shorthand for [`FuncError::Message`].
    pub fn msg(m: impl Into<String>) -> Self {
        FuncError::Message(m.into())
    }
}
