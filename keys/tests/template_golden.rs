//! Golden tests: one case per construct and per function, expected outputs derived from the
//! Go sources named in each group (`text/template/exec_test.go`, `funcs.go`, sprig's
//! `*_test.go` and function bodies). Go cannot run here; each expectation was worked out
//! from that source.

use sealbox_keys::template::{
    ErrorKind, FuncSet, Limits, MissingKey, Options, Template, TemplateError, Value,
};

fn data() -> Value {
    Value::string_map([
        ("user", "admin"),
        ("pass", "s3cr3t-P@ss"),
        ("empty", ""),
        ("db-user", "app"),
        ("n", "42"),
        (
            "json",
            r#"{"db":{"port":5432,"hosts":["a","b"]},"on":true}"#,
        ),
    ])
}

fn render_with(set: FuncSet, src: &str) -> Result<String, TemplateError> {
    let t = Template::parse("t", src, set)?;
    let out = t.execute(&data())?;
    Ok(String::from_utf8(out).expect("test outputs are UTF-8"))
}

fn render(src: &str) -> String {
    match render_with(FuncSet::Sprig, src) {
        Ok(s) => s,
        Err(e) => panic!("template {src:?} failed: {e}"),
    }
}

fn render_err(src: &str) -> TemplateError {
    match render_with(FuncSet::Sprig, src) {
        Ok(s) => panic!("template {src:?} should fail, rendered {s:?}"),
        Err(e) => e,
    }
}

fn golden(cases: &[(&str, &str)]) {
    for (src, want) in cases {
        assert_eq!(render(src), *want, "template {src:?}");
    }
}

// ---- text/template constructs (exec_test.go, parse_test.go) ------------------------------

#[test]
fn text_fields_and_missing_keys() {
    golden(&[
        ("plain text", "plain text"),
        ("{{.user}}", "admin"),
        ("{{ .user }}/{{ .pass }}", "admin/s3cr3t-P@ss"),
        // exec.go printableValue: an invalid value prints "<no value>"
        ("{{.missing}}", "<no value>"),
        // funcs.go index: missing key → zero value of map[string]string's element
        (r#"{{index . "db-user"}}|{{index . "nope"}}|"#, "app||"),
        (
            "{{.}}",
            "map[db-user:app empty: json:{\"db\":{\"port\":5432,\"hosts\":[\"a\",\"b\"]},\"on\":true} n:42 pass:s3cr3t-P@ss user:admin]",
        ),
    ]);
}

#[test]
fn missingkey_error_for_eso() {
    let e = render_with(FuncSet::EsoV2, "x{{ .missing }}").unwrap_err();
    assert_eq!(e.kind().clone(), ErrorKind::MissingKey("missing".into()));
    assert_eq!(
        e.to_string(),
        "template: t:1:4: executing \"t\" at <.missing>: map has no entry for key \"missing\""
    );
    // index ignores missingkey (funcs.go)
    assert_eq!(
        render_with(FuncSet::EsoV2, r#"[{{ index . "missing" }}]"#).unwrap(),
        "[]"
    );
    // missingkey=zero
    let mut o = Options::for_funcs(FuncSet::Sprig);
    o.missing_key = MissingKey::Zero;
    let t = Template::parse_with_options("t", "[{{ .missing }}]", o).unwrap();
    assert_eq!(t.execute(&data()).unwrap(), b"[]");
}

#[test]
fn if_else_with_range() {
    golden(&[
        ("{{if .user}}yes{{else}}no{{end}}", "yes"),
        (
            "{{if .empty}}a{{else if .missing}}b{{else if .user}}c{{else}}d{{end}}",
            "c",
        ),
        ("{{with .user}}[{{.}}]{{else}}none{{end}}", "[admin]"),
        ("{{with .empty}}[{{.}}]{{else}}none{{end}}", "none"),
        // Go 1.23 "else with"
        ("{{with .empty}}a{{else with .user}}{{.}}{{end}}", "admin"),
        ("{{with .user}}{{$.pass}}{{end}}", "s3cr3t-P@ss"),
        (
            r#"{{range $k, $v := dict "b" 2 "a" 1}}{{$k}}={{$v}};{{end}}"#,
            "a=1;b=2;",
        ),
        ("{{range list}}x{{else}}empty{{end}}", "empty"),
        (
            r#"{{range $i, $e := list "a" "b"}}{{$i}}{{$e}}{{end}}"#,
            "0a1b",
        ),
        (r#"{{range list "a" "b"}}{{.}}{{end}}"#, "ab"),
        // Go 1.22 range over an integer
        ("{{range 3}}{{.}}{{end}}", "012"),
        ("{{range 0}}x{{else}}none{{end}}", "none"),
        // Go 1.18 break / continue
        (
            "{{range list 1 2 3 4}}{{if eq . 3}}{{break}}{{end}}{{.}}{{end}}",
            "12",
        ),
        (
            "{{range list 1 2 3 4}}{{if eq . 3}}{{continue}}{{end}}{{.}}{{end}}",
            "124",
        ),
        (
            "{{range .missing}}x{{else}}nil ranges as empty{{end}}",
            "nil ranges as empty",
        ),
    ]);
}

#[test]
fn trim_markers_comments_variables() {
    golden(&[
        ("a  {{- .user -}}  b", "aadminb"),
        ("a\n\t{{- .user}}\n", "aadmin\n"),
        ("a{{/* a comment */}}b", "ab"),
        ("a {{- /* trimmed comment */ -}} b", "ab"),
        (r#"{{$x := "v"}}{{$x}}{{$x = "w"}}{{$x}}"#, "vw"),
        (r#"{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}"#, "2"),
        ("{{ $u := .user }}{{ $u }}", "admin"),
        ("{{-3}}", "-3"),
        ("{{ .user }}\n{{- /* multi\nline */ -}}\n!", "admin!"),
    ]);
}

#[test]
fn define_template_block_and_delims() {
    golden(&[
        (
            r#"{{define "T"}}<{{.}}>{{end}}{{template "T" .user}}"#,
            "<admin>",
        ),
        (
            r#"{{define "T"}}[{{.}}]{{end}}{{template "T"}}"#,
            "[<no value>]",
        ),
        (r#"{{block "B" .user}}[{{.}}]{{end}}"#, "[admin]"),
    ]);
    let t = Template::parse_with_delims("t", "<< .user >> {{ .user }}", FuncSet::EsoV2, "<<", ">>")
        .unwrap();
    assert_eq!(t.execute(&data()).unwrap(), b"admin {{ .user }}");
}

#[test]
fn pipelines_constants_and_builtins() {
    golden(&[
        (r#"{{ .user | upper | printf "%s!" }}"#, "ADMIN!"),
        (r#"{{ printf "%s-%s" (upper .user) .user }}"#, "ADMIN-admin"),
        (
            "{{ and .user .empty }}|{{ or .empty \"dflt\" }}|{{ and 1 2 }}",
            "|dflt|2",
        ),
        ("{{ not .empty }} {{ not .user }}", "true false"),
        (
            r#"{{ eq .user "admin" }} {{ eq 1 2 3 1 }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.5 }}"#,
            "true true true true true true false",
        ),
        ("{{ eq .missing nil }}", "true"),
        ("{{ len .user }} {{ len . }} {{ len (list 1 2) }}", "5 6 2"),
        ("{{ index (list 1 2 3) 1 }} {{ index \"abc\" 0 }}", "2 97"),
        (
            r#"{{ print 1 2 "a" 3 }}|{{ println "a" 1 }}|"#,
            "1 2a3|a 1\n|",
        ),
        (
            r#"{{ html "<a href='x'>&\"" }}"#,
            "&lt;a href=&#39;x&#39;&gt;&amp;&#34;",
        ),
        (
            r#"{{ js "a'b\"<=>&\\" }}"#,
            r#"a\'b\"\u003C\u003D\u003E\u0026\\"#,
        ),
        (r#"{{ urlquery "a b&c=d/é" }}"#, "a+b%26c%3Dd%2F%C3%A9"),
        // funcs.go evalArgs: a nil argument prints as <no value>
        ("{{ .missing | urlquery }}", "%3Cno+value%3E"),
        (
            "{{ 0x10 }} {{ 1e3 }} {{ 'a' }} {{ 1.5 }} {{ -7 }} {{ 0o17 }} {{ 1_000 }}",
            "16 1000 97 1.5 -7 15 1000",
        ),
        (
            "{{ \"a\\tb\" }}|{{ `raw\\n` }}|{{ true }}",
            "a\tb|raw\\n|true",
        ),
        (
            "{{ 3.0 }} {{ 1e6 }} {{ 0.000001 }} {{ 123456789.0 }}",
            "3 1e+06 1e-06 1.23456789e+08",
        ),
    ]);
}

#[test]
fn printf_follows_fmt() {
    golden(&[
        (
            r#"{{ printf "%05.1f|%-4s|%x|%X|%o|%b" 3.14159 "ab" 255 255 8 5 }}"#,
            "003.1|ab  |ff|FF|10|101",
        ),
        (
            r#"{{ printf "%q %v %d %t" "a\"b" (list 1 "x") 42 true }}"#,
            r#""a\"b" [1 x] 42 true"#,
        ),
        (r#"{{ printf "%d" "str" }}"#, "%!d(string=str)"),
        (r#"{{ printf "%s %s" "a" }}"#, "a %!s(MISSING)"),
        (r#"{{ printf "x" 1 }}"#, "x%!(EXTRA int=1)"),
        (r#"{{ printf "%6.2f%%" 99.5 }}"#, " 99.50%"),
        (r#"{{ printf "%[2]s %[1]s" "a" "b" }}"#, "b a"),
        (r#"{{ printf "%v" .missing }}"#, "<nil>"),
        (
            r#"{{ printf "%e %g %.3g" 1234.5678 0.00001234 1234.5678 }}"#,
            "1.234568e+03 1.234e-05 1.23e+03",
        ),
        (
            r#"{{ printf "%c %U %#U" 65 9731 9731 }}"#,
            "A U+2603 U+2603 '☃'",
        ),
        (
            r#"{{ printf "%x % x %#x" "hi" "hi" "hi" }}"#,
            "6869 68 69 0x6869",
        ),
    ]);
}

#[test]
fn go_type_checks_and_errors() {
    // exec.go evalArg / validateType
    assert_eq!(
        render_err("{{ upper 3 }}").kind().clone(),
        ErrorKind::ArgType("expected string; found 3".into())
    );
    assert_eq!(
        render_err("{{ 3 | upper }}").kind().clone(),
        ErrorKind::ArgType("wrong type for value; expected string; got int".into())
    );
    assert_eq!(
        render_err("{{ .missing | upper }}").kind().clone(),
        ErrorKind::ArgType("invalid value; expected string".into())
    );
    assert_eq!(
        render_err(r#"{{ repeat "3" "x" }}"#).kind().clone(),
        ErrorKind::ArgType("expected integer; found \"3\"".into())
    );
    // sprig dict functions take map[string]interface{}; the data map is map[string]string
    assert_eq!(
        render_err(r#"{{ hasKey . "user" }}"#).kind().clone(),
        ErrorKind::ArgType(
            "wrong type for value; expected map[string]interface {}; got map[string]string".into()
        )
    );
    assert!(matches!(
        render_err("{{ nil }}").kind(), ErrorKind::Exec(m) if m == "nil is not a command"));
    assert!(matches!(
        render_err(r#"{{ eq 1 "a" }}"#).kind(),
        ErrorKind::Function { message, .. } if message == "incompatible types for comparison: int and string"
    ));
    assert!(matches!(
        render_err("{{ upper }}").kind(),
        ErrorKind::ArgCount { function, got: 0, .. } if function == "upper"
    ));
    assert!(matches!(
        render_err(".{{ .user.x }}").kind(), ErrorKind::Exec(m) if m == "can't evaluate field x in type string"));
    assert!(matches!(
        render_err(r#"{{ template "nope" }}"#).kind(), ErrorKind::Exec(m) if m == "template \"nope\" not defined"));
    let e = render_err("{{ div 1 0 }}");
    assert_eq!(
        e.to_string(),
        "template: t:1:3: executing \"t\" at <div 1 0>: error calling div: runtime error: integer divide by zero"
    );
}

#[test]
fn parse_errors_name_template_line_and_problem() {
    let p = |src: &str| Template::parse("key", src, FuncSet::Sprig).unwrap_err();
    assert_eq!(
        p("a\n{{ nope 1 }}").kind().clone(),
        ErrorKind::UnknownFunction("nope".into())
    );
    assert_eq!(
        p("a\n{{ nope 1 }}").to_string(),
        "template: key:2:3: function \"nope\" not defined"
    );
    assert_eq!(
        p("{{ env \"HOME\" }}").kind().clone(),
        ErrorKind::UnknownFunction("env".into())
    );
    assert_eq!(
        p("{{ getHostByName \"x\" }}").kind().clone(),
        ErrorKind::UnknownFunction("getHostByName".into())
    );
    assert_eq!(
        p("{{ semver \"1.0\" }}").kind().clone(),
        ErrorKind::UnsupportedFunction("semver".into())
    );
    assert_eq!(
        p("{{ semver \"1.0\" }}").to_string(),
        "template: key:1:3: function \"semver\" is not supported by sealbox"
    );
    assert_eq!(
        p("{{ .x ").kind().clone(),
        ErrorKind::Syntax("unclosed action".into())
    );
    assert_eq!(
        p("{{end}}").kind().clone(),
        ErrorKind::Syntax("unexpected {{end}}".into())
    );
    assert_eq!(
        p("{{ $x }}").kind().clone(),
        ErrorKind::Syntax("undefined variable \"$x\"".into())
    );
    assert_eq!(
        p("{{if .x}}").kind().clone(),
        ErrorKind::Syntax("unexpected EOF".into())
    );
    assert_eq!(
        p("{{ .a | 3 }}").kind().clone(),
        ErrorKind::Syntax("non executable command in pipeline stage 2".into())
    );
    assert_eq!(
        p("{{break}}").kind().clone(),
        ErrorKind::Syntax("{{break}} outside {{range}}".into())
    );
    assert_eq!(
        p("{{/* x */ .a}}").kind().clone(),
        ErrorKind::Syntax("comment ends before closing delimiter".into())
    );
    assert_eq!(
        p("{{ 3.x }}").kind().clone(),
        ErrorKind::Syntax("bad number syntax: \"3.x\"".into())
    );
    let deep = format!("{{{{ {}1{} }}}}", "(".repeat(150), ")".repeat(150));
    assert!(matches!(
        p(&deep).kind(), ErrorKind::Syntax(m) if m.starts_with("max expression depth exceeded")));
}

// ---- sprig functions (functions.go and the files it names) -------------------------------

#[test]
fn sprig_strings() {
    golden(&[
        (
            r#"{{ trim "  a b \n" }}|{{ upper "aé" }}|{{ lower "ÀB" }}|{{ title "hello world-x" }}|{{ untitle "Hello World" }}"#,
            "a b|AÉ|àb|Hello World-X|hello world",
        ),
        (
            r#"{{ substr 0 5 "hello world" }}|{{ substr 6 -1 "hello world" }}|{{ repeat 3 "ab" }}"#,
            "hello|world|ababab",
        ),
        (
            r#"{{ trimAll "$" "$$5.00$" }}|{{ trimPrefix "-" "-x-" }}|{{ trimSuffix "-" "-x-" }}"#,
            "5.00|x-|-x",
        ),
        (
            r#"{{ nospace " a b\tc " }}|{{ initials "First Try" }}|{{ swapcase "This Is A.Test" }}"#,
            "abc|FT|tHIS iS a.tEST",
        ),
        (
            r#"{{ trunc 5 "hello world" }}|{{ trunc -5 "hello world" }}|{{ abbrev 5 "hello world" }}|{{ abbrevboth 5 10 "1234 5678 9123" }}"#,
            "hello|world|he...|...5678...",
        ),
        (
            r#"{{ wrap 5 "Hello World" }}|{{ wrapWith 5 "\t" "Hello World" }}"#,
            "Hello\nWorld|Hello\tWorld",
        ),
        (
            r#"{{ contains "cat" "catch" }} {{ hasPrefix "cat" "catch" }} {{ hasSuffix "cat" "catch" }}"#,
            "true true false",
        ),
        (
            r#"{{ quote "a" 1 .missing "b\"" }}|{{ squote "a" 1 }}|{{ cat "a" 1 nil "b" }}"#,
            r#""a" "1" "b\""|'a' '1'|a 1 b"#,
        ),
        (
            r#"{{ indent 2 "a\nb" }}|{{ nindent 2 "a" }}"#,
            "  a\n  b|\n  a",
        ),
        (
            r#"{{ replace " " "-" "a b c" }}|{{ plural "one" "many" 2 }}|{{ plural "one" "many" 1 }}"#,
            "a-b-c|many|one",
        ),
        (
            r#"{{ snakecase "FirstName" }}|{{ camelcase "http_server" }}|{{ kebabcase "FirstName" }}"#,
            "first_name|HttpServer|first-name",
        ),
        (
            r#"{{ $p := split "$" "a$b$c" }}{{ $p._1 }}|{{ splitList "," "a,b" }}|{{ splitn "$" 2 "a$b$c" }}"#,
            "b|[a b]|map[_0:a _1:b$c]",
        ),
        (
            r#"{{ join "-" (list 1 "b" nil 3) }}|{{ sortAlpha (list "b" "C" "a") }}|{{ toStrings (list 1 2) }}|{{ toString 5 }}"#,
            "1-b-3|[C a b]|[1 2]|5",
        ),
        (r#"{{ "hello" | upper | repeat 2 }}"#, "HELLOHELLO"),
    ]);
}

#[test]
fn sprig_numbers() {
    golden(&[
        (
            r#"{{ atoi "42" }} {{ atoi "x" }} {{ int64 "0x10" }} {{ int "7" }} {{ float64 "1.5" }} {{ toDecimal "0777" }}"#,
            "42 0 16 7 1.5 511",
        ),
        (
            "{{ add 1 2 3 }} {{ add1 1 }} {{ sub 5 3 }} {{ div 7 2 }} {{ mod 7 2 }} {{ mul 2 3 4 }}",
            "6 2 2 3 1 24",
        ),
        (
            r#"{{ add .n 1 }} {{ max 1 5 3 }} {{ min 4 2 8 }} {{ biggest 1 9 }}"#,
            "43 5 2 9",
        ),
        (
            "{{ floor 1.5 }} {{ ceil 1.2 }} {{ round 3.14159 2 }} {{ round 2.5 0 }}",
            "1 2 3.14 3",
        ),
        (
            "{{ addf 0.1 0.2 }} {{ subf 5.5 2.2 }} {{ mulf 1.1 3 }} {{ divf 10 4 }} {{ add1f 1.5 }} {{ maxf 1 2.5 }} {{ minf 1 2.5 }}",
            "0.3 3.3 3.3 2.5 2.5 2.5 1",
        ),
        (
            "{{ until 3 }} {{ untilStep 0 10 3 }} {{ seq 3 }} {{ seq 2 -2 }} {{ seq 0 2 6 }}",
            "[0 1 2] [0 3 6 9] 1 2 3 2 1 0 -1 -2 0 2 4 6",
        ),
    ]);
}

#[test]
fn sprig_defaults_and_json() {
    golden(&[
        (
            r#"{{ default "x" .empty }}|{{ default "x" .user }}|{{ .missing | default "d" }}|{{ default "x" }}"#,
            "x|admin|d|x",
        ),
        (
            r#"{{ empty "" }} {{ empty 0 }} {{ empty (list) }} {{ empty "a" }} {{ empty .missing }}"#,
            "true true true false true",
        ),
        (
            r#"{{ coalesce .empty "" "z" }}|{{ ternary "y" "n" true }}|{{ ternary "y" "n" false }}|{{ all 1 "a" }}|{{ any 0 "" }}"#,
            "z|y|n|true|false",
        ),
        (r#"{{ compact (list 1 "" 0 "a" nil) }}"#, "[1 a]"),
        // encoding/json: HTML escaping in toJson, not in toRawJson; sorted keys
        (
            r#"{{ toJson (dict "b" "<&>" "a" (list 1 2.5 true nil)) }}"#,
            r#"{"a":[1,2.5,true,null],"b":"\u003c\u0026\u003e"}"#,
        ),
        (r#"{{ toRawJson (dict "b" "<&>") }}"#, r#"{"b":"<&>"}"#),
        (
            r#"{{ toPrettyJson (dict "b" 1 "a" (list)) }}"#,
            "{\n  \"a\": [],\n  \"b\": 1\n}",
        ),
        (
            r#"{{ toJson .pass }}|{{ toJson . | len }}"#,
            r#""s3cr3t-P@ss"|143"#,
        ),
        // fromJson numbers are float64
        (
            r#"{{ $j := fromJson .json }}{{ $j.db.port }} {{ index $j.db.hosts 1 }} {{ $j.on }}"#,
            "5432 b true",
        ),
        (r#"{{ (fromJson .json).db.port | add 1 }}"#, "5433"),
        (r#"{{ fromJson "not json" }}"#, "<no value>"),
        (r#"{{ fromJson "[1, 1e21, 0.5]" }}"#, "[1 1e+21 0.5]"),
        (
            r#"{{ deepCopy (dict "a" 1) }}|{{ kindOf (list) }} {{ kindOf "x" }} {{ kindIs "map" (dict) }}|{{ deepEqual (list 1) (list 1) }}"#,
            "map[a:1]|slice string true|true",
        ),
    ]);
    assert!(matches!(
        render_err(r#"{{ mustFromJson "{bad" }}"#).kind(),
        ErrorKind::Function { function, .. } if function == "mustFromJson"
    ));
}

#[test]
fn sprig_encoding_and_hashes() {
    golden(&[
        (
            r#"{{ b64enc "hello" }}|{{ b64dec "aGVsbG8=" }}|{{ b64enc .pass | b64dec }}"#,
            "aGVsbG8=|hello|s3cr3t-P@ss",
        ),
        // sprig base64decode returns the Go error text as its result
        (
            r#"{{ b64dec "%%%%" }}|{{ b64dec "aGk" }}"#,
            "illegal base64 data at input byte 0|illegal base64 data at input byte 0",
        ),
        (
            r#"{{ b32enc "hello" }}|{{ b32dec "NBSWY3DP" }}"#,
            "NBSWY3DP|hello",
        ),
        (
            r#"{{ sha1sum "hello" }}"#,
            "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d",
        ),
        (
            r#"{{ sha256sum "hello" }}"#,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        ),
        (
            r#"{{ sha512sum "hello" }}"#,
            "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043",
        ),
        (r#"{{ adler32sum "hello" }}"#, "103547413"),
        (
            r#"{{ htpasswd "user" "pass" "sha" }}|{{ htpasswd "a:b" "p" "sha" }}"#,
            "user:{SHA}nU4eI71bcnBGqeO0t9tXvY1u5oQ=|invalid username: a:b",
        ),
    ]);
    // bcrypt output is salted: check the format and that it verifies
    let h = render(r#"{{ bcrypt "secret" }}"#);
    assert!(h.starts_with("$2a$10$") && h.len() == 60, "{h}");
    assert!(bcrypt::verify("secret", &h).unwrap());
    let h = render(r#"{{ htpasswd "u" "secret" "bcrypt" }}"#);
    assert!(bcrypt::verify("secret", h.strip_prefix("u:").unwrap()).unwrap());
}

#[test]
fn sprig_dicts() {
    golden(&[
        (
            r#"{{ dict "a" 1 "b" "x" }}|{{ dict "odd" }}"#,
            "map[a:1 b:x]|map[odd:]",
        ),
        (
            r#"{{ $d := dict "a" 1 }}{{ get $d "a" }}|{{ get $d "zz" }}|{{ hasKey $d "a" }}"#,
            "1||true",
        ),
        // set/unset mutate the map in place in Go
        (
            r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ $d }}{{ $_ := unset $d "a" }}{{ $d }}"#,
            "map[a:1 b:2]map[b:2]",
        ),
        (
            r#"{{ $d := dict "inner" (dict) }}{{ $_ := set $d.inner "k" "v" }}{{ toJson $d }}"#,
            r#"{"inner":{"k":"v"}}"#,
        ),
        (
            r#"{{ pluck "a" (dict "a" 1) (dict "b" 2) (dict "a" 3) }}"#,
            "[1 3]",
        ),
        (
            r#"{{ keys (dict "b" 1 "a" 2) | sortAlpha }}|{{ values (dict "a" 1) }}"#,
            "[a b]|[1]",
        ),
        (
            r#"{{ pick (dict "a" 1 "b" 2 "c" 3) "a" "c" }}|{{ omit (dict "a" 1 "b" 2) "a" }}"#,
            "map[a:1 c:3]|map[b:2]",
        ),
        // mergo: merge keeps dst values, mergeOverwrite replaces them, nested maps merge
        (
            r#"{{ $d := dict "a" 1 "n" (dict "x" 1) }}{{ $_ := merge $d (dict "a" 2 "b" 3 "n" (dict "x" 9 "y" 2)) }}{{ toJson $d }}"#,
            r#"{"a":1,"b":3,"n":{"x":1,"y":2}}"#,
        ),
        (
            r#"{{ toJson (mergeOverwrite (dict "a" 1 "n" (dict "x" 1)) (dict "a" 2 "n" (dict "y" 2))) }}"#,
            r#"{"a":2,"n":{"x":1,"y":2}}"#,
        ),
        (
            r#"{{ dig "a" "b" "def" (dict "a" (dict "b" "found")) }}|{{ dig "a" "z" "def" (dict "a" (dict)) }}"#,
            "found|def",
        ),
    ]);
}

#[test]
fn sprig_lists() {
    golden(&[
        (
            r#"{{ list 1 "a" nil }}|{{ tuple 1 2 }}"#,
            "[1 a <nil>]|[1 2]",
        ),
        (
            r#"{{ first (list 1 2 3) }} {{ last (list 1 2 3) }} {{ rest (list 1 2 3) }} {{ initial (list 1 2 3) }}"#,
            "1 3 [2 3] [1 2]",
        ),
        (r#"{{ first (list) }}|{{ rest (list) }}"#, "<no value>|[]"),
        (
            r#"{{ append (list 1) 2 }} {{ prepend (list 1) 0 }} {{ concat (list 1) (list 2 3) }} {{ reverse (list 1 2 3) }}"#,
            "[1 2] [0 1] [1 2 3] [3 2 1]",
        ),
        (
            r#"{{ uniq (list 1 1 2 1) }} {{ without (list 1 2 3 2) 2 }} {{ has 2 (list 1 2) }} {{ has 5 (list 1 2) }}"#,
            "[1 2] [1 3] true false",
        ),
        (
            r#"{{ slice (list 1 2 3 4) 1 3 }} {{ slice (list 1 2 3) 1 }} {{ slice (list 1 2 3) }}"#,
            "[2 3] [2 3] [1 2 3]",
        ),
        (r#"{{ chunk 2 (list 1 2 3 4 5) }}"#, "[[1 2] [3 4] [5]]"),
    ]);
    assert!(matches!(
        render_err(r#"{{ first "abc" }}"#).kind(),
        ErrorKind::Function { message, .. } if message == "Cannot find first on type string"
    ));
}

#[test]
fn sprig_regex_and_paths() {
    golden(&[
        (
            r#"{{ regexMatch "^a.c$" "abc" }} {{ regexMatch "^\\d+$" "12a" }}"#,
            "true false",
        ),
        (
            r#"{{ regexFind "[0-9]+" "ab123cd45" }}|{{ regexFindAll "[0-9]" "a1b2c3" -1 }}|{{ regexFindAll "[0-9]" "a1b2c3" 2 }}|{{ regexFindAll "z" "abc" -1 }}"#,
            "123|[1 2 3]|[1 2]|[]",
        ),
        // regexp.ReplaceAllString doc example
        (
            r#"{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}|{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}"#,
            "-W-xxW-|-${1}-${1}-",
        ),
        (
            r#"{{ regexSplit "z+" "pizza" -1 }}|{{ regexSplit "a" "banana" 2 }}|{{ regexQuoteMeta "1.2*[x]" }}"#,
            r"[pi a]|[b nana]|1\.2\*\[x\]",
        ),
        (
            r#"{{ base "/a/b.txt" }} {{ dir "/a/b.txt" }} {{ ext "/a/b.txt" }} {{ clean "a//b/../c" }} {{ isAbs "/x" }} {{ osBase "x/y" }}"#,
            "b.txt /a .txt a/c true y",
        ),
    ]);
}

#[test]
fn sprig_dates() {
    golden(&[
        (
            r#"{{ toDate "2006-01-02" "2024-05-01" | date "Jan 2, 2006" }}"#,
            "May 1, 2024",
        ),
        (
            r#"{{ dateInZone "2006-01-02 15:04:05 MST" 0 "UTC" }}"#,
            "1970-01-01 00:00:00 UTC",
        ),
        (r#"{{ htmlDateInZone 86400 "UTC" }}"#, "1970-01-02"),
        (
            r#"{{ (toDate "2006-01-02T15:04:05Z07:00" "2024-05-01T10:00:00+00:00") | unixEpoch }}"#,
            "1714557600",
        ),
        (
            r#"{{ dateInZone "15:04" (dateModify "1h30m" (toDate "2006-01-02T15:04Z07:00" "2024-05-01T10:00Z")) "UTC" }}|{{ dateInZone "15:04" (dateModify "bogus" (toDate "2006-01-02T15:04Z07:00" "2024-05-01T10:00Z")) "UTC" }}"#,
            "11:30|10:00",
        ),
        (
            r#"{{ duration "3661" }} {{ duration 90 }} {{ durationRound "2h10m" }} {{ durationRound "400h" }}"#,
            "1h1m1s 1m30s 2h 16d",
        ),
        (
            r#"{{ (toDate "2006-01-02" "2024-05-01").Year }} {{ (toDate "2006-01-02" "2024-05-01").Format "01/02" }}"#,
            "2024 05/01",
        ),
    ]);
    let y = render(r#"{{ now | date "2006" }}"#);
    assert!(y.len() == 4 && y.starts_with("20"), "{y}");
    assert_eq!(render(r#"{{ ago now }}"#), "0s");
}

#[test]
fn sprig_random_and_uuid() {
    let u = render("{{ uuidv4 }}");
    let re =
        regex::Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            .unwrap();
    assert!(re.is_match(&u), "{u}");
    assert_ne!(u, render("{{ uuidv4 }}"));
    // Separated by line breaks: randAscii draws from the printable range (32..=126), which
    // includes any printable separator (a `|` made this test fail now and then).
    let s =
        render("{{ randAlphaNum 20 }}\n{{ randAlpha 5 }}\n{{ randNumeric 6 }}\n{{ randAscii 8 }}");
    let parts: Vec<&str> = s.split('\n').collect();
    assert_eq!(parts.len(), 4, "{s:?}");
    assert!(parts[0].len() == 20 && parts[0].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(parts[1].len() == 5 && parts[1].bytes().all(|b| b.is_ascii_alphabetic()));
    assert!(parts[2].len() == 6 && parts[2].bytes().all(|b| b.is_ascii_digit()));
    assert!(parts[3].len() == 8 && parts[3].bytes().all(|b| (32..127).contains(&b)));
    let n: i64 = render("{{ randInt 5 10 }}").parse().unwrap();
    assert!((5..10).contains(&n));
    assert_eq!(render("{{ randBytes 12 | b64dec | len }}"), "12");
    let sh = render(r#"{{ shuffle "abcdef" }}"#);
    let mut c: Vec<char> = sh.chars().collect();
    c.sort();
    assert_eq!(c.into_iter().collect::<String>(), "abcdef");
}

// ---- bytes, secrets, limits ----------------------------------------------------------------

#[test]
fn non_utf8_secrets_pass_through_byte_for_byte() {
    let blob = vec![0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x0a, 0x0d, 0x09, 0x00];
    let d = Value::string_map([("blob", blob.clone())]);
    let t = Template::parse("t", "{{ .blob }}", FuncSet::Sprig).unwrap();
    assert_eq!(t.execute(&d).unwrap(), blob);
    let t = Template::parse("t", "{{ .blob | b64enc | b64dec }}", FuncSet::Sprig).unwrap();
    assert_eq!(t.execute(&d).unwrap(), blob);
    // toJson replaces invalid UTF-8 with U+FFFD, as encoding/json does
    let t = Template::parse("t", "{{ toJson .blob }}", FuncSet::Sprig).unwrap();
    assert_eq!(
        t.execute(&d).unwrap(),
        br#""\u0000\ufffd\ufffd\ufffd\ufffd(\n\r\t\u0000""#
    );
}

#[test]
fn errors_never_contain_secret_values() {
    let secret = "s3cr3t-P@ss";
    for src in [
        "{{ .pass | atoi | div 1 0 }}",
        "{{ fail .pass }}",
        "{{ .pass | fail }}",
        "{{ range .pass }}{{ end }}",
        "{{ eq .pass 1 }}",
        "{{ index .pass 99 }}",
        "{{ mustFromJson .pass }}",
        "{{ regexFind .pass .pass | mustRegexFind \"(\" }}",
        "{{ .pass.field }}",
        "{{ mustToDate \"2006\" .pass }}",
    ] {
        let e = render_with(FuncSet::Sprig, src).expect_err(src);
        let text = format!("{e} {e:?}");
        assert!(!text.contains(secret), "{src}: {text}");
    }
    // a literal fail message is shown
    let e = render_err(r#"{{ fail "password is required" }}"#);
    assert_eq!(
        e.kind().clone(),
        ErrorKind::Fail("password is required".into())
    );
    // Debug of values is redacted
    let dbg = format!("{:?}", data());
    assert!(!dbg.contains(secret) && !dbg.contains("admin"), "{dbg}");
}

#[test]
fn resource_limits_are_enforced() {
    let limits = Limits {
        max_output: 1000,
        max_depth: 10,
        max_steps: 10_000,
    };
    let parse = |src: &str| {
        let mut o = Options::for_funcs(FuncSet::Sprig);
        o.limits = limits;
        Template::parse_with_options("t", src, o).unwrap()
    };
    let e = parse("{{ range 2000 }}x{{ end }}")
        .execute(&data())
        .unwrap_err();
    assert_eq!(e.kind().clone(), ErrorKind::OutputTooLarge { limit: 1000 });
    let e = parse(r#"{{ repeat 100000 "x" }}"#)
        .execute(&data())
        .unwrap_err();
    assert_eq!(e.kind().clone(), ErrorKind::OutputTooLarge { limit: 1000 });
    let e = parse(r#"{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}"#)
        .execute(&data())
        .unwrap_err();
    assert_eq!(e.kind().clone(), ErrorKind::DepthExceeded { limit: 10 });
    let e = parse("{{ range 100000 }}{{ end }}")
        .execute(&data())
        .unwrap_err();
    assert_eq!(
        e.kind().clone(),
        ErrorKind::BudgetExceeded { limit: 10_000 }
    );
    // defaults: 1 MiB output
    let t = Template::parse("t", "{{ range 2000000 }}x{{ end }}", FuncSet::Sprig).unwrap();
    assert!(matches!(
        t.execute(&data()).unwrap_err().kind(),
        ErrorKind::OutputTooLarge { .. }
    ));
}

#[test]
fn template_is_reusable_and_thread_safe() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Template>();
    let t = Template::parse("t", "{{ .user | upper }}", FuncSet::EsoV2).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let t = t.clone();
            std::thread::spawn(move || t.execute(&data()).unwrap())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), b"ADMIN");
    }
}
