//! Resource limits for everything sealbox parses from users or from the cluster.
//!
//! Files in a pull request and objects in the API server are untrusted input. A parser that
//! follows them blindly can be made to use unbounded memory, time or stack: a "billion laughs"
//! YAML (aliases of aliases), ten thousand nested brackets, a stream of a million empty
//! documents. Every parser of untrusted input in sealbox checks these limits *before* it
//! builds anything whose size the input controls, and fails with a [`LimitExceeded`] that
//! names the limit, so the user knows what to change (and that it was not a syntax error).
//!
//! The defaults ([`Limits::DEFAULT`]) are far above real files: a 1 MB / 10,000-key SOPS
//! file, a 20,000-object `kubectl get -o yaml` List or a CRD with a deep schema pass with a
//! wide margin (see `docs/security.md`, "Resource limits", for the table and the reasons).
//!
//! * [`YamlBudget`] follows a granit-parser event stream (the parser under serde-saphyr and
//!   the SOPS YAML store) and computes *exactly* what alias expansion will produce, without
//!   expanding anything: each anchor's size is recorded when its node closes, and an alias
//!   adds that size. [`check_yaml`] runs it over a text.
//! * [`check_json`] walks a JSON text with serde_json without building a value (a counting
//!   visitor), so a megabyte of `[[[[` or `[0,0,0,…` is refused before the tree exists.
//! * [`saphyr_options`] gives serde-saphyr the same limits as its `Budget` (a second line of
//!   defence behind [`check_yaml`] for manifests, key backups and `.sops.yaml`).

use std::collections::HashMap;
use std::fmt;

use granit_parser::{Event, Parser};
use thiserror::Error;

/// The limits applied to one parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest input accepted, in bytes.
    pub max_input_bytes: usize,
    /// Deepest nesting of mappings/sequences (JSON objects/arrays), counting what aliases
    /// expand to. Bounds the recursion of every tree walk after parsing.
    pub max_depth: usize,
    /// Most documents in one YAML stream / concatenated JSON stream.
    pub max_documents: usize,
    /// Most nodes (scalars, mappings, sequences; for flat formats: lines) in one input,
    /// counting every copy an alias makes.
    pub max_nodes: usize,
    /// Most scalar bytes that alias expansion may copy in one input.
    pub max_alias_bytes: usize,
}

impl Limits {
    /// The defaults: 64 MiB, depth 100, 10,000 documents, 1,000,000 nodes, 64 MiB copied by
    /// aliases.
    ///
    /// Depth 100 is below serde_json's fixed recursion limit (128), so JSON input reaches our
    /// clear message first, and keeps every recursive walk of a parsed tree well inside a
    /// 2 MiB thread stack (tokio's default) even in debug builds.
    pub const DEFAULT: Limits = Limits {
        max_input_bytes: 64 << 20,
        max_depth: 100,
        max_documents: 10_000,
        max_nodes: 1_000_000,
        max_alias_bytes: 64 << 20,
    };
}

impl Limits {
    /// Limits for *encrypted* SOPS files. Encryption makes a file larger than its plaintext
    /// (a one-byte value becomes a ~100-byte `ENC[…]`, every document gains a `sops:` block),
    /// so encrypted input has no byte cap of its own and twice the node budget: whatever
    /// sealbox encrypts within [`Limits::DEFAULT`] it can always read back, and everything
    /// that could amplify (depth, aliases, documents) stays bounded.
    pub const SOPS_ENCRYPTED: Limits = Limits {
        max_input_bytes: usize::MAX,
        max_nodes: 2 * Limits::DEFAULT.max_nodes,
        ..Limits::DEFAULT
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Which limit was exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// [`Limits::max_input_bytes`]
    InputBytes,
    /// [`Limits::max_depth`]
    Depth,
    /// [`Limits::max_documents`]
    Documents,
    /// [`Limits::max_nodes`]
    Nodes,
    /// [`Limits::max_alias_bytes`]
    AliasBytes,
}

impl Limit {
    /// The field name in [`Limits`] (and in `docs/security.md`).
    pub fn name(self) -> &'static str {
        match self {
            Limit::InputBytes => "max_input_bytes",
            Limit::Depth => "max_depth",
            Limit::Documents => "max_documents",
            Limit::Nodes => "max_nodes",
            Limit::AliasBytes => "max_alias_bytes",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An input exceeded a resource limit. Carries numbers only, never input text.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("resource limit {limit} exceeded: {}", describe(*.limit, *.max, *.found))]
pub struct LimitExceeded {
    /// Which limit.
    pub limit: Limit,
    /// Its value.
    pub max: usize,
    /// What the input had, when known (bytes for sizes; for counts, the first value past the
    /// limit).
    pub found: usize,
}

fn describe(limit: Limit, max: usize, found: usize) -> String {
    match limit {
        Limit::InputBytes => {
            format!("the input is {found} bytes, more than the {max} bytes sealbox reads")
        }
        Limit::Depth => format!("values are nested more than {max} levels deep"),
        Limit::Documents => format!("the stream has more than {max} documents"),
        Limit::Nodes => format!("the input has more than {max} values (counting alias copies)"),
        Limit::AliasBytes => format!(
            "aliases expand to more than {max} bytes of copied text (a \"billion laughs\" YAML bomb?)"
        ),
    }
}

impl LimitExceeded {
    fn new(limit: Limit, max: usize, found: usize) -> LimitExceeded {
        LimitExceeded { limit, max, found }
    }
}

/// Refuse an input larger than [`Limits::max_input_bytes`].
pub fn check_size(len: usize, limits: &Limits) -> Result<(), LimitExceeded> {
    if len > limits.max_input_bytes {
        return Err(LimitExceeded::new(
            Limit::InputBytes,
            limits.max_input_bytes,
            len,
        ));
    }
    Ok(())
}

/// Refuse a flat input (dotenv, INI) with more lines than [`Limits::max_nodes`].
pub fn check_lines(text: &str, limits: &Limits) -> Result<(), LimitExceeded> {
    check_size(text.len(), limits)?;
    let lines = text.bytes().filter(|b| *b == b'\n').count() + 1;
    if lines > limits.max_nodes {
        return Err(LimitExceeded::new(Limit::Nodes, limits.max_nodes, lines));
    }
    Ok(())
}

/// Size of a closed anchored node: what one alias to it expands to.
#[derive(Clone, Copy, Debug, Default)]
struct Extent {
    nodes: usize,
    bytes: usize,
    /// Nesting levels inside the node (0 for a scalar).
    depth: usize,
}

/// An open mapping or sequence.
#[derive(Debug)]
struct Open {
    anchor: usize,
    extent: Extent,
}

/// Follows a YAML event stream and enforces [`Limits`] on what the stream *means* after
/// alias expansion: nesting depth, node count, bytes copied by aliases and documents.
///
/// Feed it every event in order ([`YamlBudget::event`]); it fails at the first event that
/// takes the stream past a limit, so nothing proportional to the expansion is ever built.
#[derive(Debug)]
pub struct YamlBudget {
    limits: Limits,
    stack: Vec<Open>,
    anchors: HashMap<usize, Extent>,
    documents: usize,
    nodes: usize,
    alias_bytes: usize,
}

impl YamlBudget {
    /// A budget for one stream.
    pub fn new(limits: Limits) -> YamlBudget {
        YamlBudget {
            limits,
            stack: Vec::new(),
            anchors: HashMap::new(),
            documents: 0,
            nodes: 0,
            alias_bytes: 0,
        }
    }

    /// Account for one event.
    pub fn event(&mut self, event: &Event<'_>) -> Result<(), LimitExceeded> {
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > self.limits.max_documents {
                    return Err(LimitExceeded::new(
                        Limit::Documents,
                        self.limits.max_documents,
                        self.documents,
                    ));
                }
            }
            Event::Scalar(value, _, anchor, _) => {
                let extent = Extent {
                    nodes: 1,
                    bytes: value.len(),
                    depth: 0,
                };
                if *anchor != 0 {
                    self.anchors.insert(*anchor, extent);
                }
                self.add(extent)?;
            }
            Event::MappingStart(_, anchor, _) | Event::SequenceStart(_, anchor, _) => {
                self.count_nodes(1)?;
                self.stack.push(Open {
                    anchor: *anchor,
                    extent: Extent {
                        nodes: 1,
                        bytes: 0,
                        depth: 0,
                    },
                });
                self.check_depth(self.stack.len())?;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(open) = self.stack.pop() {
                    let closed = Extent {
                        depth: open.extent.depth + 1,
                        ..open.extent
                    };
                    if open.anchor != 0 {
                        self.anchors.insert(open.anchor, closed);
                    }
                    if let Some(parent) = self.stack.last_mut() {
                        merge(&mut parent.extent, closed);
                    }
                }
            }
            Event::Alias(id) => {
                // An alias to an anchor that is still open (a recursive structure) or unknown
                // counts as one node; the parser or the consumer rejects it.
                let extent = self.anchors.get(id).copied().unwrap_or(Extent {
                    nodes: 1,
                    bytes: 0,
                    depth: 0,
                });
                self.alias_bytes = self.alias_bytes.saturating_add(extent.bytes);
                if self.alias_bytes > self.limits.max_alias_bytes {
                    return Err(LimitExceeded::new(
                        Limit::AliasBytes,
                        self.limits.max_alias_bytes,
                        self.alias_bytes,
                    ));
                }
                self.check_depth(self.stack.len() + extent.depth)?;
                // The alias's nodes were counted once where the anchor was defined; every
                // copy counts again.
                self.add(extent)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn count_nodes(&mut self, n: usize) -> Result<(), LimitExceeded> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            return Err(LimitExceeded::new(
                Limit::Nodes,
                self.limits.max_nodes,
                self.nodes,
            ));
        }
        Ok(())
    }

    fn check_depth(&self, depth: usize) -> Result<(), LimitExceeded> {
        if depth > self.limits.max_depth {
            return Err(LimitExceeded::new(
                Limit::Depth,
                self.limits.max_depth,
                depth,
            ));
        }
        Ok(())
    }

    /// A node (scalar, or an alias's copy) inside the innermost open collection.
    fn add(&mut self, extent: Extent) -> Result<(), LimitExceeded> {
        self.count_nodes(extent.nodes)?;
        if let Some(parent) = self.stack.last_mut() {
            merge(&mut parent.extent, extent);
        }
        Ok(())
    }
}

fn merge(parent: &mut Extent, child: Extent) {
    parent.nodes = parent.nodes.saturating_add(child.nodes);
    parent.bytes = parent.bytes.saturating_add(child.bytes);
    parent.depth = parent.depth.max(child.depth);
}

/// Check a YAML text against `limits` without building it: size, then one pass of the
/// event parser through a [`YamlBudget`].
///
/// A syntax error ends the check successfully: the caller's own parser reports it with its
/// own (located) message, and everything before the error was within the limits.
pub fn check_yaml(text: &str, limits: &Limits) -> Result<(), LimitExceeded> {
    check_size(text.len(), limits)?;
    let mut budget = YamlBudget::new(*limits);
    for event in Parser::new_from_str_with_options(text, parser_options(limits)) {
        match event {
            Ok((event, _)) => budget.event(&event)?,
            Err(e) => return nesting_error(&e, limits).map_or(Ok(()), Err),
        }
    }
    Ok(())
}

/// granit-parser options for `limits`: its own nesting guards (255 by default) stay at least
/// as high as ours, so a deep input is reported by [`YamlBudget`] — or, when the scanner's
/// lookahead meets the guard first, by [`nesting_error`] — always as [`Limit::Depth`].
pub fn parser_options(limits: &Limits) -> granit_parser::Options {
    let mut options = granit_parser::Options::default();
    let guard = limits.max_depth.saturating_add(1);
    options.flow_nesting_limit = options.flow_nesting_limit.max(guard);
    options.block_nesting_limit = options.block_nesting_limit.max(guard);
    options
}

/// The parser's own nesting guard fired (its scanner looks ahead, so on `[[[[…` it can fire
/// before the events reach a [`YamlBudget`]): that is our depth limit, not a syntax error.
pub fn nesting_error(error: &granit_parser::ScanError, limits: &Limits) -> Option<LimitExceeded> {
    matches!(
        error.kind(),
        granit_parser::ErrorKind::RecursionLimitExceeded
    )
    .then(|| LimitExceeded::new(Limit::Depth, limits.max_depth, limits.max_depth + 1))
}

/// Check a JSON text (one value, or a stream of concatenated values) against `limits`
/// without building it. Syntax errors end the check successfully, as in [`check_yaml`].
pub fn check_json(input: &[u8], limits: &Limits) -> Result<(), LimitExceeded> {
    check_size(input.len(), limits)?;
    let breach = std::cell::Cell::new(None);
    let mut counter = json_count::Counter {
        limits,
        nodes: 0,
        breach: &breach,
    };
    let mut de = serde_json::Deserializer::from_slice(input);
    let mut documents = 0usize;
    loop {
        // Skip whitespace; stop at the end of the input.
        if de.end().is_ok() {
            break;
        }
        documents += 1;
        if documents > limits.max_documents {
            return Err(LimitExceeded::new(
                Limit::Documents,
                limits.max_documents,
                documents,
            ));
        }
        let seed = json_count::Seed {
            counter: &mut counter,
            depth: 0,
        };
        if serde::de::DeserializeSeed::deserialize(seed, &mut de).is_err() {
            break;
        }
    }
    match breach.take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The counting visitor behind [`check_json`]: visits every value, keeps nothing.
mod json_count {
    use std::cell::Cell;
    use std::fmt;

    use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

    use super::{Limit, LimitExceeded, Limits};

    pub(super) struct Counter<'a> {
        pub(super) limits: &'a Limits,
        pub(super) nodes: usize,
        pub(super) breach: &'a Cell<Option<LimitExceeded>>,
    }

    impl Counter<'_> {
        fn node<E: de::Error>(&mut self, depth: usize) -> Result<(), E> {
            self.nodes += 1;
            let exceeded = if depth > self.limits.max_depth {
                Some(LimitExceeded::new(
                    Limit::Depth,
                    self.limits.max_depth,
                    depth,
                ))
            } else if self.nodes > self.limits.max_nodes {
                Some(LimitExceeded::new(
                    Limit::Nodes,
                    self.limits.max_nodes,
                    self.nodes,
                ))
            } else {
                None
            };
            match exceeded {
                Some(e) => {
                    self.breach.set(Some(e));
                    Err(E::custom("resource limit exceeded"))
                }
                None => Ok(()),
            }
        }
    }

    pub(super) struct Seed<'c, 'a> {
        pub(super) counter: &'c mut Counter<'a>,
        pub(super) depth: usize,
    }

    impl<'de> DeserializeSeed<'de> for Seed<'_, '_> {
        type Value = ();

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Seed<'_, '_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            self.counter.node(self.depth)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            self.counter.node(self.depth)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            self.counter.node(self.depth)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            self.counter.node(self.depth)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            self.counter.node(self.depth)
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            self.counter.node(self.depth)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let depth = self.depth + 1;
            self.counter.node(depth)?;
            while seq
                .next_element_seed(Seed {
                    counter: &mut *self.counter,
                    depth,
                })?
                .is_some()
            {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let depth = self.depth + 1;
            self.counter.node(depth)?;
            while map.next_key::<de::IgnoredAny>()?.is_some() {
                map.next_value_seed(Seed {
                    counter: &mut *self.counter,
                    depth,
                })?;
            }
            Ok(())
        }
    }
}

/// serde-saphyr options carrying `limits` in its own `Budget` (depth, documents, nodes,
/// total scalar bytes including alias copies, alias replays). Use together with
/// [`check_yaml`], so the same input fails with the same [`LimitExceeded`] (naming the limit)
/// whichever parser reads it, and before serde-saphyr allocates anything.
pub fn saphyr_options(limits: &Limits) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = limits.max_depth;
    budget.max_documents = limits.max_documents;
    budget.max_nodes = limits.max_nodes;
    budget.max_events = limits.max_nodes.saturating_mul(4);
    budget.max_total_scalar_bytes = limits.max_input_bytes;
    budget.max_reader_input_bytes = Some(limits.max_input_bytes);
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = limits.max_nodes;
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Limits {
        Limits {
            max_input_bytes: 1000,
            max_depth: 5,
            max_documents: 3,
            max_nodes: 50,
            max_alias_bytes: 100,
        }
    }

    #[test]
    fn anchors_are_sized_and_aliases_add_their_size() {
        // 2 collections + 3 scalars in the anchor, copied twice.
        let text = "a: &x [1, 2, 3]\nb: *x\nc: *x\n";
        let mut budget = YamlBudget::new(Limits::DEFAULT);
        for e in Parser::new_from_str(text) {
            budget.event(&e.unwrap().0).unwrap();
        }
        // map + (a, seq, 1, 2, 3) + (b, 4 copied) + (c, 4 copied) = 1 + 5 + 5 + 5
        assert_eq!(budget.nodes, 16);
        assert_eq!(budget.alias_bytes, 6);
    }

    #[test]
    fn each_limit_is_named() {
        let deep = format!("{}{}", "[".repeat(6), "]".repeat(6));
        assert_eq!(check_yaml(&deep, &small()).unwrap_err().limit, Limit::Depth);
        assert_eq!(
            check_json(deep.as_bytes(), &small()).unwrap_err().limit,
            Limit::Depth
        );
        let docs = "a: 1\n---\nb: 2\n---\nc: 3\n---\nd: 4\n";
        assert_eq!(
            check_yaml(docs, &small()).unwrap_err().limit,
            Limit::Documents
        );
        assert_eq!(
            check_json(b"{} {} {} {}", &small()).unwrap_err().limit,
            Limit::Documents
        );
        let many = format!("[{}0]", "0,".repeat(60));
        assert_eq!(check_yaml(&many, &small()).unwrap_err().limit, Limit::Nodes);
        assert_eq!(
            check_json(many.as_bytes(), &small()).unwrap_err().limit,
            Limit::Nodes
        );
        let big = "x".repeat(1001);
        let err = check_yaml(&big, &small()).unwrap_err();
        assert_eq!(err.limit, Limit::InputBytes);
        assert_eq!(
            err.to_string(),
            "resource limit max_input_bytes exceeded: the input is 1001 bytes, more than the 1000 bytes sealbox reads"
        );
        let copies = format!("a: &a {}\nb: [*a, *a, *a]\n", "y".repeat(40));
        assert_eq!(
            check_yaml(&copies, &small()).unwrap_err().limit,
            Limit::AliasBytes
        );
    }

    #[test]
    fn depth_through_aliases_counts() {
        // The anchor is 3 deep; an alias to it at depth 3 would build 6 levels.
        let text = "a: &d [[[1]]]\nb: [[*d]]\n";
        assert_eq!(check_yaml(text, &small()).unwrap_err().limit, Limit::Depth);
        assert!(check_yaml("a: &d [[[1]]]\nb: *d\n", &small()).is_ok());
    }

    #[test]
    fn syntax_errors_are_left_to_the_real_parser() {
        assert!(check_yaml("a: [1, 2\nb: {", &Limits::DEFAULT).is_ok());
        assert!(check_json(b"{\"a\": [1, 2", &Limits::DEFAULT).is_ok());
    }

    #[test]
    fn json_stream_of_values_is_counted_per_document() {
        assert!(check_json(b"{\"a\": 1}\n{\"b\": [1, 2]}\n", &Limits::DEFAULT).is_ok());
        assert!(check_json(b"  ", &Limits::DEFAULT).is_ok());
    }
}
