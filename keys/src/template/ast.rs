//! The parse tree, shaped like Go's `text/template/parse/node.go`. Each node keeps its byte
//! position in the template text (for `name:line:col` in errors), and `Display` renders a node
//! the way Go's `Node.String()` does, which is what errors show after `at <...>`.

use std::fmt;

/// A list of nodes (Go `ListNode`).
pub(crate) type List = Vec<Node>;

/// A statement-level node.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Literal text, copied to the output.
    Text { text: Vec<u8> },
    /// `{{pipeline}}`.
    Action { pipe: Pipe },
    /// `{{if}}` / `{{with}}` / `{{range}}`.
    Control {
        kind: ControlKind,
        pipe: Pipe,
        list: List,
        else_list: Option<List>,
    },
    /// `{{template "name" pipeline}}`.
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    /// `{{break}}`.
    Break,
    /// `{{continue}}`.
    Continue,
}

/// Which control structure a [`Node::Control`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ControlKind {
    If,
    With,
    Range,
}

/// A pipeline with optional variable declarations (Go `PipeNode`).
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub pos: usize,
    /// `$x = ...` rather than `$x := ...`.
    pub is_assign: bool,
    /// Declared / assigned variable names, e.g. `$i`, `$v`.
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

/// One command of a pipeline: operands separated by spaces (Go `CommandNode`).
#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// An operand (Go's argument node types).
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    /// `.A.B` — idents without the dots.
    Field { pos: usize, idents: Vec<String> },
    /// `$x.A.B` — `idents[0]` is the variable name including `$`.
    Variable { pos: usize, idents: Vec<String> },
    /// A function name.
    Identifier { pos: usize, name: String },
    /// `.`
    Dot { pos: usize },
    /// `nil`
    Nil { pos: usize },
    /// `true` / `false`
    Bool { pos: usize, value: bool },
    /// A numeric constant.
    Number { pos: usize, number: Number },
    /// A string constant: `quoted` is the source text, `text` the unquoted bytes.
    String {
        pos: usize,
        quoted: String,
        text: Vec<u8>,
    },
    /// `(pipeline)`
    Pipe(Box<Pipe>),
    /// `(pipeline).A.B` or `term.A.B` on a non-field term.
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. }
            | Arg::Chain { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

/// A parsed number constant with every interpretation Go's `NumberNode` records.
#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub text: String,
    pub is_int: bool,
    pub is_uint: bool,
    pub is_float: bool,
    pub int: i64,
    pub uint: u64,
    pub float: f64,
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { idents, .. } => {
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Variable { idents, .. } => f.write_str(&idents.join(".")),
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Dot { .. } => f.write_str("."),
            Arg::Nil { .. } => f.write_str("nil"),
            Arg::Bool { value, .. } => write!(f, "{value}"),
            Arg::Number { number, .. } => f.write_str(&number.text),
            Arg::String { quoted, .. } => f.write_str(quoted),
            Arg::Pipe(p) => write!(f, "{p}"),
            Arg::Chain { node, fields, .. } => {
                if let Arg::Pipe(p) = node.as_ref() {
                    write!(f, "({p})")?;
                } else {
                    write!(f, "{node}")?;
                }
                for field in fields {
                    write!(f, ".{field}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if let Arg::Pipe(p) = arg {
                write!(f, "({p})")?;
            } else {
                write!(f, "{arg}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// Go's `parse.IsEmptyTree`: only whitespace text (a `define`-only file has an empty body).
pub(crate) fn is_empty_tree(list: &List) -> bool {
    list.iter().all(|n| match n {
        Node::Text { text } => text.iter().all(|b| b.is_ascii_whitespace() || *b == 0x0b),
        _ => false,
    })
}
