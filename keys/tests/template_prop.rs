//! Property tests: literal text renders unchanged, `{{ .k }}` reproduces any byte string,
//! and parsing (plus executing) arbitrary input never panics.

use proptest::prelude::*;
use sealbox_keys::template::{FuncSet, Template, Value, parse_for_fuzzing};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn text_without_delimiters_is_unchanged(text in "\\PC*") {
        prop_assume!(!text.contains("{{"));
        let t = Template::parse("t", &text, FuncSet::Sprig).unwrap();
        prop_assert_eq!(t.execute(&Value::Nil).unwrap(), text.as_bytes());
    }

    #[test]
    fn field_reproduces_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let data = Value::string_map([("k", bytes.clone())]);
        for set in [FuncSet::Sprig, FuncSet::EsoV2] {
            let t = Template::parse("t", "{{ .k }}", set).unwrap();
            prop_assert_eq!(t.execute(&data).unwrap(), bytes.clone());
            let t = Template::parse("t", r#"{{ index . "k" }}"#, set).unwrap();
            prop_assert_eq!(t.execute(&data).unwrap(), bytes.clone());
        }
    }

    #[test]
    fn b64_round_trips_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let data = Value::string_map([("k", bytes.clone())]);
        let t = Template::parse("t", "{{ .k | b64enc | b64dec }}", FuncSet::Sprig).unwrap();
        prop_assert_eq!(t.execute(&data).unwrap(), bytes);
    }

    #[test]
    fn parse_never_panics(input in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_for_fuzzing(&input);
    }

    #[test]
    fn template_like_input_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("{{"), Just("}}"), Just("{{-"), Just("-}}"), Just(" "), Just("."), Just("$x"),
                Just(":="), Just("="), Just("|"), Just("("), Just(")"), Just("if"), Just("else"),
                Just("end"), Just("range"), Just("with"), Just("define"), Just("template"),
                Just("block"), Just("break"), Just("continue"), Just("\"s\""), Just("`r`"),
                Just("'c'"), Just("1"), Just("-2.5"), Just("0x1f"), Just("nil"), Just("true"),
                Just("printf"), Just("index"), Just("len"), Just("upper"), Just("list"),
                Just("dict"), Just("toJson"), Just("default"), Just("/*"), Just("*/"),
                Just(".a"), Just(".b"), Just(","), Just("\n"), Just("x"),
            ],
            0..40,
        )
    ) {
        let _ = parse_for_fuzzing(parts.concat().as_bytes());
    }
}
