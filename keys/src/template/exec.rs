//! Evaluator: walks a parsed tree over data, writing output. Follows Go's
//! `text/template/exec.go`: pipelines pass their value as the last argument of the next
//! command; `evalArg` / `validateType` argument checks; `and`/`or` short-circuit; field
//! access on maps with the `missingkey` option; variables with `:=` / `=` and range
//! iteration variables; `{{template}}` with a fresh variable scope; `break`/`continue`;
//! `<no value>` for an invalid (missing) value at the top of an action.
//!
//! Resource guards for untrusted templates: output size, `{{template}}` depth and a step
//! budget (each node walked and each command evaluated costs one step).

use super::FuncSet;
use super::Limits;
use super::MissingKey;
use super::ast::{Arg, Command, ControlKind, List, Node, Number, Pipe};
use super::error::{ErrorDetails, ErrorKind, FuncError, Location, TemplateError};
use super::funcs::{self, CallCtx, Ty};
use super::gofmt;
use super::parse::{TreeSet, line_col};
use super::value::Value;

/// What a walk step tells its enclosing `range`.
enum Flow {
    Normal,
    Break,
    Continue,
}

/// The node an error should point at.
#[derive(Clone, Copy)]
enum At<'t> {
    None,
    Arg(&'t Arg),
    Cmd(&'t Command),
    Pipe(&'t Pipe),
    Pos(usize),
}

type R<T> = Result<T, TemplateError>;

pub(crate) struct Exec<'t> {
    pub text: &'t str,
    pub top_name: &'t str,
    pub trees: &'t TreeSet,
    pub funcs: FuncSet,
    pub missing_key: MissingKey,
    pub limits: Limits,
    out: Vec<u8>,
    vars: Vec<(String, Value)>,
    depth: usize,
    steps: u64,
    cur_tree: &'t str,
    at: At<'t>,
}

impl<'t> Exec<'t> {
    pub fn new(
        text: &'t str,
        top_name: &'t str,
        trees: &'t TreeSet,
        funcs: FuncSet,
        missing_key: MissingKey,
        limits: Limits,
    ) -> Self {
        Exec {
            text,
            top_name,
            trees,
            funcs,
            missing_key,
            limits,
            out: Vec::new(),
            vars: Vec::new(),
            depth: 0,
            steps: 0,
            cur_tree: top_name,
            at: At::None,
        }
    }

    /// Executes the top-level tree over `data`.
    pub fn run(mut self, data: &Value) -> R<Vec<u8>> {
        let root = self.trees.get(self.top_name).ok_or_else(|| {
            self.error(ErrorKind::Exec(format!(
                "{:?} is an incomplete or empty template",
                self.top_name
            )))
        })?;
        self.vars.push(("$".to_string(), data.clone()));
        self.walk_list(data, root)?;
        Ok(self.out)
    }

    fn error(&self, kind: ErrorKind) -> TemplateError {
        let (pos, ctx) = match self.at {
            At::None => (None, None),
            At::Arg(a) => (Some(a.pos()), Some(a.to_string())),
            At::Cmd(c) => (Some(c.pos), Some(c.to_string())),
            At::Pipe(p) => (Some(p.pos), Some(p.to_string())),
            At::Pos(p) => (Some(p), None),
        };
        let (line, column) = pos.map_or((0, 0), |p| line_col(self.text, p));
        TemplateError::new(ErrorDetails {
            location: Location {
                template: self.top_name.to_string(),
                line,
                column,
            },
            executing: ctx.as_ref().map(|_| self.cur_tree.to_string()),
            context: ctx,
            kind,
        })
    }

    fn exec_err(&self, msg: impl Into<String>) -> TemplateError {
        self.error(ErrorKind::Exec(msg.into()))
    }

    fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return Err(self.error(ErrorKind::BudgetExceeded {
                limit: self.limits.max_steps,
            }));
        }
        Ok(())
    }

    fn write(&mut self, b: &[u8]) -> R<()> {
        if self.out.len() + b.len() > self.limits.max_output {
            return Err(self.error(ErrorKind::OutputTooLarge {
                limit: self.limits.max_output,
            }));
        }
        self.out.extend_from_slice(b);
        Ok(())
    }

    fn walk_list(&mut self, dot: &Value, list: &'t List) -> R<Flow> {
        for node in list {
            match self.walk(dot, node)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value, node: &'t Node) -> R<Flow> {
        self.step()?;
        match node {
            Node::Text { text } => {
                self.write(text)?;
            }
            Node::Action { pipe, .. } => {
                let val = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at = At::Pipe(pipe);
                    self.print(&val)?;
                }
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
            Node::Control {
                kind: ControlKind::Range,
                pipe,
                list,
                else_list,
                ..
            } => return self.walk_range(dot, pipe, list, else_list.as_ref()),
            Node::Control {
                kind,
                pipe,
                list,
                else_list,
                ..
            } => {
                let mark = self.vars.len();
                let val = self.eval_pipeline(dot, pipe)?;
                let flow = if val.is_true() {
                    if *kind == ControlKind::With {
                        self.walk_list(&val, list)?
                    } else {
                        self.walk_list(dot, list)?
                    }
                } else if let Some(e) = else_list {
                    self.walk_list(dot, e)?
                } else {
                    Flow::Normal
                };
                self.vars.truncate(mark);
                return Ok(flow);
            }
            Node::Template { pos, name, pipe } => {
                self.at = At::Pos(*pos);
                let Some((tree_name, tree)) = self.trees.get_key_value(name.as_str()) else {
                    return Err(self.exec_err(format!("template {name:?} not defined")));
                };
                if self.depth >= self.limits.max_depth {
                    return Err(self.error(ErrorKind::DepthExceeded {
                        limit: self.limits.max_depth,
                    }));
                }
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Nil,
                };
                let saved_vars =
                    std::mem::replace(&mut self.vars, vec![("$".to_string(), new_dot.clone())]);
                let saved_tree = self.cur_tree;
                self.cur_tree = tree_name.as_str();
                self.depth += 1;
                let res = self.walk_list(&new_dot, tree);
                self.depth -= 1;
                self.cur_tree = saved_tree;
                self.vars = saved_vars;
                res?;
            }
        }
        Ok(Flow::Normal)
    }

    fn print(&mut self, v: &Value) -> R<()> {
        match v {
            Value::Nil => self.write(b"<no value>"),
            Value::String(s) => {
                let s = s.clone();
                self.write(&s)
            }
            other => {
                let b = gofmt::sprint_value(other);
                self.write(&b)
            }
        }
    }

    fn walk_range(
        &mut self,
        dot: &Value,
        pipe: &'t Pipe,
        list: &'t List,
        else_list: Option<&'t List>,
    ) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, pipe)?;
        let inner_mark = self.vars.len();
        let items: Vec<(Value, Value)> = match &val {
            Value::Int(n) => {
                if pipe.decl.len() > 1 {
                    self.at = At::Pipe(pipe);
                    return Err(
                        self.exec_err("can't use an int to iterate over more than one variable")
                    );
                }
                (0..(*n).max(0))
                    .map(|i| (Value::Nil, Value::Int(i)))
                    .collect()
            }
            Value::List(l) => l
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), v.clone()))
                .collect(),
            Value::Map(_) | Value::StringMap(_) => val
                .map_entries()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (Value::String(k.into_bytes()), v))
                .collect(),
            Value::Nil => Vec::new(),
            other => {
                self.at = At::Pipe(pipe);
                return Err(self.exec_err(format!(
                    "range can't iterate over a value of type {}",
                    other.type_name()
                )));
            }
        };
        if items.is_empty() {
            let flow = match else_list {
                Some(e) => self.walk_list(dot, e)?,
                None => Flow::Normal,
            };
            self.vars.truncate(mark);
            return Ok(flow);
        }
        for (index, elem) in items {
            self.step()?;
            if !pipe.decl.is_empty() {
                if pipe.is_assign {
                    let v = if pipe.decl.len() > 1 {
                        index.clone()
                    } else {
                        elem.clone()
                    };
                    self.set_var(&pipe.decl[0], v)?;
                } else {
                    let n = self.vars.len();
                    self.vars[n - 1].1 = elem.clone();
                }
            }
            if pipe.decl.len() > 1 {
                if pipe.is_assign {
                    self.set_var(&pipe.decl[1], elem.clone())?;
                } else {
                    let n = self.vars.len();
                    self.vars[n - 2].1 = index.clone();
                }
            }
            let flow = self.walk_list(&elem, list)?;
            self.vars.truncate(inner_mark);
            if let Flow::Break = flow {
                break;
            }
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    fn set_var(&mut self, name: &str, value: Value) -> R<()> {
        for (n, v) in self.vars.iter_mut().rev() {
            if n == name {
                *v = value;
                return Ok(());
            }
        }
        Err(self.exec_err(format!("undefined variable: {name}")))
    }

    fn var_value(&self, name: &str) -> R<Value> {
        for (n, v) in self.vars.iter().rev() {
            if n == name {
                return Ok(v.clone());
            }
        }
        Err(self.exec_err(format!("undefined variable: {name}")))
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'t Pipe) -> R<Value> {
        self.at = At::Pipe(pipe);
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Value::Nil);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], has_final: bool) -> R<()> {
        if args.len() > 1 || has_final {
            return Err(self.exec_err(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &'t Command, fin: Option<Value>) -> R<Value> {
        self.step()?;
        let first = &cmd.args[0];
        match first {
            Arg::Field { idents, .. } => {
                self.at = At::Arg(first);
                self.eval_field_chain(dot, dot.clone(), idents, &cmd.args, fin)
            }
            Arg::Chain { node, fields, .. } => {
                self.at = At::Arg(first);
                let recv = self.eval_chain_receiver(dot, first, node)?;
                self.eval_field_chain(dot, recv, fields, &cmd.args, fin)
            }
            Arg::Identifier { name, .. } => {
                self.eval_function(dot, name, At::Cmd(cmd), &cmd.args, fin)
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, fin.is_some())?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable { idents, .. } => {
                self.at = At::Arg(first);
                let v = self.var_value(&idents[0])?;
                if idents.len() == 1 {
                    self.not_a_function(&cmd.args, fin.is_some())?;
                    return Ok(v);
                }
                self.eval_field_chain(dot, v, &idents[1..], &cmd.args, fin)
            }
            _ => {
                self.at = At::Arg(first);
                self.not_a_function(&cmd.args, fin.is_some())?;
                match first {
                    Arg::Bool { value, .. } => Ok(Value::Bool(*value)),
                    Arg::Dot { .. } => Ok(dot.clone()),
                    Arg::Nil { .. } => Err(self.exec_err("nil is not a command")),
                    Arg::Number { number, .. } => self.ideal_constant(number),
                    Arg::String { text, .. } => Ok(Value::String(text.clone())),
                    _ => Err(self.exec_err(format!("can't evaluate command {first}"))),
                }
            }
        }
    }

    fn eval_chain_receiver(&mut self, dot: &Value, chain: &'t Arg, node: &'t Arg) -> R<Value> {
        if matches!(node, Arg::Nil { .. }) {
            self.at = At::Arg(chain);
            return Err(self.exec_err(format!("indirection through explicit nil in {chain}")));
        }
        self.eval_arg(dot, Ty::Any, node)
    }

    fn ideal_constant(&self, n: &Number) -> R<Value> {
        let t = &n.text;
        let hex_int = t.len() > 2
            && t.starts_with('0')
            && (t.as_bytes()[1] | 0x20) == b'x'
            && !t.contains(['p', 'P']);
        let rune_int = t.starts_with('\'');
        if n.is_float && !hex_int && !rune_int && t.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Value::Float(n.float));
        }
        if n.is_int {
            return Ok(Value::Int(n.int));
        }
        if n.is_uint {
            return Err(self.exec_err(format!("{t} overflows int")));
        }
        Ok(Value::Nil)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Value,
        mut receiver: Value,
        idents: &[String],
        args: &'t [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let n = idents.len();
        for ident in &idents[..n - 1] {
            receiver = self.eval_field(dot, ident, &[], None, receiver)?;
        }
        self.eval_field(dot, &idents[n - 1], args, fin, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        args: &'t [Arg],
        fin: Option<Value>,
        receiver: Value,
    ) -> R<Value> {
        if matches!(receiver, Value::Nil) {
            if self.missing_key == MissingKey::Error {
                return Err(self.exec_err(format!("nil data; no entry for key {name:?}")));
            }
            return Ok(Value::Nil);
        }
        let has_args = args.len() > 1 || fin.is_some();
        match &receiver {
            Value::Map(_) | Value::StringMap(_) => {
                if has_args {
                    return Err(self.exec_err(format!("{name} is not a method but has arguments")));
                }
                match receiver.map_get(name) {
                    Some(v) => Ok(v),
                    None => match self.missing_key {
                        MissingKey::Invalid => Ok(Value::Nil),
                        MissingKey::Zero => Ok(receiver.map_zero_elem()),
                        MissingKey::Error => {
                            Err(self.error(ErrorKind::MissingKey(name.to_string())))
                        }
                    },
                }
            }
            Value::Time(t) => {
                let mut call_args = Vec::new();
                for a in args.iter().skip(1) {
                    call_args.push(self.eval_arg(dot, Ty::Any, a)?);
                }
                if let Some(f) = fin {
                    call_args.push(f);
                }
                super::funcs::sprig::time_method(t, name, call_args)
                    .map_err(|e| self.func_error(name, e, false))
            }
            other => Err(self.exec_err(format!(
                "can't evaluate field {name} in type {}",
                other.type_name()
            ))),
        }
    }

    fn func_error(&self, name: &str, e: FuncError, literal_args: bool) -> TemplateError {
        match e {
            FuncError::Message(m) => self.error(ErrorKind::Function {
                function: name.to_string(),
                message: m,
            }),
            FuncError::Type(m) => self.error(ErrorKind::ArgType(m)),
            FuncError::Fail(m) => {
                if literal_args {
                    self.error(ErrorKind::Fail(m))
                } else {
                    self.error(ErrorKind::Fail(
                        "(message built from template data; not shown because it may contain secrets)"
                            .into(),
                    ))
                }
            }
            FuncError::TooLarge => self.error(ErrorKind::OutputTooLarge {
                limit: self.limits.max_output,
            }),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        name: &str,
        call_at: At<'t>,
        args: &'t [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        self.at = At::Arg(&args[0]);
        let Some(def) = funcs::lookup(self.funcs, name) else {
            return Err(self.error(ErrorKind::UnknownFunction(name.to_string())));
        };
        let call_args = &args[1..];
        let num_in = call_args.len() + usize::from(fin.is_some());
        let num_fixed = def.params.len();
        if def.variadic.is_some() {
            if num_in < num_fixed {
                return Err(self.error(ErrorKind::ArgCount {
                    function: name.to_string(),
                    expected: format!("at least {num_fixed}"),
                    got: call_args.len(),
                }));
            }
        } else if num_in != num_fixed {
            return Err(self.error(ErrorKind::ArgCount {
                function: name.to_string(),
                expected: num_fixed.to_string(),
                got: num_in,
            }));
        }
        if name == "and" || name == "or" {
            let want = name == "or";
            let mut v = Value::Nil;
            for a in call_args {
                v = self.eval_arg(dot, Ty::Any, a)?;
                if v.is_true() == want {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(v);
        }
        let ty_at = |i: usize| -> Ty {
            if i < num_fixed {
                def.params[i]
            } else {
                def.variadic.unwrap_or(Ty::Any)
            }
        };
        let mut argv = Vec::with_capacity(num_in);
        for (i, a) in call_args.iter().enumerate() {
            argv.push(self.eval_arg(dot, ty_at(i), a)?);
        }
        if let Some(f) = fin {
            let t = ty_at(num_in - 1);
            self.at = call_at;
            argv.push(self.validate_type(f, t)?);
        }
        self.at = call_at;
        let literal_args = call_args.iter().all(|a| {
            matches!(
                a,
                Arg::String { .. } | Arg::Number { .. } | Arg::Bool { .. }
            )
        }) && num_in == call_args.len();
        let ctx = CallCtx {
            max_size: self.limits.max_output,
        };
        let result = (def.imp)(&ctx, argv).map_err(|e| self.func_error(name, e, literal_args))?;
        if let Some(i) = def.mutates
            && let Some(Arg::Variable { idents, .. }) = call_args.get(i)
        {
            self.write_back(idents, result.clone());
        }
        Ok(result)
    }

    /// Emulates Go's in-place map mutation for `set`/`unset`/`merge…` on a variable.
    fn write_back(&mut self, idents: &[String], value: Value) {
        let Some(slot) = self
            .vars
            .iter_mut()
            .rev()
            .find(|(n, _)| *n == idents[0])
            .map(|(_, v)| v)
        else {
            return;
        };
        let mut target = slot;
        for key in &idents[1..] {
            match target {
                Value::Map(m) => match m.get_mut(key) {
                    Some(v) => target = v,
                    None => return,
                },
                _ => return,
            }
        }
        *target = value;
    }

    fn validate_type(&self, v: Value, ty: Ty) -> R<Value> {
        let ok = match (&v, ty) {
            (Value::Nil, Ty::Any) => return Ok(Value::Nil),
            (Value::Nil, Ty::Map) => return Ok(Value::Map(Default::default())),
            (Value::Nil, _) => {
                return Err(self.error(ErrorKind::ArgType(format!(
                    "invalid value; expected {}",
                    ty.go_name()
                ))));
            }
            (_, Ty::Any) => true,
            (Value::String(_), Ty::Str) => true,
            (Value::Int(_), Ty::Int) => true,
            (Value::Float(_), Ty::Float) => true,
            (Value::Bool(_), Ty::Bool) => true,
            (Value::Map(_), Ty::Map) => true,
            (Value::Time(_), Ty::Time) => true,
            _ => false,
        };
        if ok {
            Ok(v)
        } else {
            Err(self.error(ErrorKind::ArgType(format!(
                "wrong type for value; expected {}; got {}",
                ty.go_name(),
                v.type_name()
            ))))
        }
    }

    fn eval_arg(&mut self, dot: &Value, ty: Ty, n: &'t Arg) -> R<Value> {
        self.at = At::Arg(n);
        match n {
            Arg::Dot { .. } => return self.validate_type(dot.clone(), ty),
            Arg::Nil { .. } => {
                return match ty {
                    Ty::Any => Ok(Value::Nil),
                    Ty::Map => Ok(Value::Map(Default::default())),
                    _ => Err(self.error(ErrorKind::ArgType(format!(
                        "cannot assign nil to {}",
                        ty.go_name()
                    )))),
                };
            }
            Arg::Field { idents, .. } => {
                let v =
                    self.eval_field_chain(dot, dot.clone(), idents, std::slice::from_ref(n), None)?;
                self.at = At::Arg(n);
                return self.validate_type(v, ty);
            }
            Arg::Variable { idents, .. } => {
                let v = self.var_value(&idents[0])?;
                let v = if idents.len() == 1 {
                    v
                } else {
                    self.eval_field_chain(dot, v, &idents[1..], &[], None)?
                };
                self.at = At::Arg(n);
                return self.validate_type(v, ty);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, p)?;
                self.at = At::Arg(n);
                return self.validate_type(v, ty);
            }
            Arg::Identifier { name, .. } => {
                let v = self.eval_function(dot, name, At::Arg(n), std::slice::from_ref(n), None)?;
                self.at = At::Arg(n);
                return self.validate_type(v, ty);
            }
            Arg::Chain { node, fields, .. } => {
                let recv = self.eval_chain_receiver(dot, n, node)?;
                let v = self.eval_field_chain(dot, recv, fields, &[], None)?;
                self.at = At::Arg(n);
                return self.validate_type(v, ty);
            }
            _ => {}
        }
        let found = |what: &str| -> TemplateError {
            self.error(ErrorKind::ArgType(format!("expected {what}; found {n}")))
        };
        match ty {
            Ty::Bool => match n {
                Arg::Bool { value, .. } => Ok(Value::Bool(*value)),
                _ => Err(found("bool")),
            },
            Ty::Float => match n {
                Arg::Number { number, .. } if number.is_float => Ok(Value::Float(number.float)),
                _ => Err(found("float")),
            },
            Ty::Int => match n {
                Arg::Number { number, .. } if number.is_int => Ok(Value::Int(number.int)),
                _ => Err(found("integer")),
            },
            Ty::Str => match n {
                Arg::String { text, .. } => Ok(Value::String(text.clone())),
                _ => Err(found("string")),
            },
            Ty::Any => match n {
                Arg::Bool { value, .. } => Ok(Value::Bool(*value)),
                Arg::Number { number, .. } => self.ideal_constant(number),
                Arg::String { text, .. } => Ok(Value::String(text.clone())),
                _ => Err(self.exec_err(format!(
                    "can't handle assignment of {n} to empty interface argument"
                ))),
            },
            Ty::Map | Ty::Time => {
                Err(self.exec_err(format!("can't handle {n} for arg of type {}", ty.go_name())))
            }
        }
    }
}
