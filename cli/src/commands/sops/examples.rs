//! The example document `edit` opens for a file that does not exist yet: sops' own
//! (`stores.ExampleComplexTree` for YAML/JSON, `ExampleSimpleTree` for INI,
//! `ExampleFlatTree` for dotenv, a sentence for binary), rendered by the same store code as
//! everything else, so it reads back exactly like sops' example does.

use sealbox_keys::sops::tree::NO_SITE;
use sealbox_keys::sops::{Format, MapItem, Node, Plain, Scalar, StoreOptions, emit_plain_as};

const WELCOME: &str = "Welcome to SOPS! Edit this file as you please!";

fn s(v: &str) -> Node<Plain> {
    Node::Leaf(Plain::Value(Scalar::Str(v.to_string())), NO_SITE)
}

fn entry(k: &str, v: Node<Plain>) -> MapItem<Plain> {
    MapItem::Entry(k.to_string(), v)
}

fn comment(c: &str) -> MapItem<Plain> {
    MapItem::Comment(Plain::Comment(c.to_string()), NO_SITE)
}

/// The example plaintext for a new file of `format`.
pub fn example(format: Format, store: &StoreOptions) -> Vec<u8> {
    let tree = match format {
        Format::Binary => return WELCOME.as_bytes().to_vec(),
        Format::Yaml | Format::Json => Node::Map(vec![
            entry("hello", s(WELCOME)),
            entry("example_key", s("example_value")),
            comment(" Example comment"),
            entry(
                "example_array",
                Node::Seq(vec![s("example_value1"), s("example_value2")]),
            ),
            entry(
                "example_number",
                Node::Leaf(Plain::Value(Scalar::Float(1234.56789)), NO_SITE),
            ),
            entry(
                "example_booleans",
                Node::Seq(vec![
                    Node::Leaf(Plain::Value(Scalar::Bool(true)), NO_SITE),
                    Node::Leaf(Plain::Value(Scalar::Bool(false)), NO_SITE),
                ]),
            ),
        ]),
        // The INI store keeps comments without the space after `;` (it writes one back).
        Format::Ini => Node::Map(vec![entry(
            "Welcome!",
            Node::Map(vec![
                comment("This is an example file."),
                entry("hello", s(WELCOME)),
                entry("example_key", s("example_value")),
            ]),
        )]),
        Format::Dotenv => Node::Map(vec![
            comment(" This is an example file."),
            entry("hello", s(WELCOME)),
            entry("example_key", s("example_value")),
            entry("example_multiline", s("foo\nbar\nbaz")),
        ]),
    };
    // Rendering a fixed, valid tree cannot fail.
    emit_plain_as(&vec![tree], format, store).expect("the example tree renders in every store")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What sops 3.11 writes into the editor for a new file (captured from the real binary).
    #[test]
    fn examples_match_sops() {
        let store = StoreOptions::default();
        let text = |f| String::from_utf8(example(f, &store)).unwrap();
        assert_eq!(
            text(Format::Yaml),
            "hello: Welcome to SOPS! Edit this file as you please!\nexample_key: example_value\n# Example comment\nexample_array:\n    - example_value1\n    - example_value2\nexample_number: 1234.56789\nexample_booleans:\n    - true\n    - false\n"
        );
        assert_eq!(
            text(Format::Json),
            "{\n\t\"hello\": \"Welcome to SOPS! Edit this file as you please!\",\n\t\"example_key\": \"example_value\",\n\t\"example_array\": [\n\t\t\"example_value1\",\n\t\t\"example_value2\"\n\t],\n\t\"example_number\": 1234.56789,\n\t\"example_booleans\": [\n\t\ttrue,\n\t\tfalse\n\t]\n}\n"
        );
        assert_eq!(
            text(Format::Dotenv),
            "# This is an example file.\nhello=Welcome to SOPS! Edit this file as you please!\nexample_key=example_value\nexample_multiline=foo\\nbar\\nbaz\n"
        );
        assert_eq!(
            text(Format::Ini),
            "; This is an example file.\n[Welcome!]\nhello       = Welcome to SOPS! Edit this file as you please!\nexample_key = example_value\n"
        );
        assert_eq!(text(Format::Binary), WELCOME);
    }
}
