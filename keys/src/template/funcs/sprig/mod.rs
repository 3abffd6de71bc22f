//! sprig v3 generic functions (`Masterminds/sprig` `functions.go` `genericMap`), minus
//! `env`, `expandenv` and `getHostByName`. Each submodule follows the sprig file of the same
//! topic; behaviour of the helper libraries sprig calls (`goutils`, `xstrings`, `spf13/cast`,
//! `mergo`, Go's `strings`/`regexp`/`path`/`time`) is reproduced where it shows in output.
//!
//! Functions that panic in Go (e.g. `first` on a map, `div` by zero) become errors, as Go's
//! template engine turns panics in functions into `error calling X: ...`.

use std::collections::HashMap;

use super::{FuncDef, Ty, f, fv};

mod collections;
mod dates;
mod misc;
mod numeric;
mod strings;

pub(crate) use dates::time_method;
pub(crate) use misc::go_b64_decode;

pub(crate) fn register(t: &mut HashMap<&'static str, FuncDef>) {
    use Ty::*;
    // strings.go + functions.go string entries
    t.insert("hello", f(&[], |_, _| super::s("Hello!")));
    t.insert("abbrev", f(&[Int, Str], strings::abbrev));
    t.insert("abbrevboth", f(&[Int, Int, Str], strings::abbrevboth));
    t.insert("trunc", f(&[Int, Str], strings::trunc));
    t.insert("trim", f(&[Str], strings::trim));
    t.insert("upper", f(&[Str], strings::upper));
    t.insert("lower", f(&[Str], strings::lower));
    t.insert("title", f(&[Str], strings::title));
    t.insert("untitle", f(&[Str], strings::untitle));
    t.insert("substr", f(&[Int, Int, Str], strings::substr));
    t.insert("repeat", f(&[Int, Str], strings::repeat));
    t.insert("trimall", f(&[Str, Str], strings::trim_all));
    t.insert("trimAll", f(&[Str, Str], strings::trim_all));
    t.insert("trimSuffix", f(&[Str, Str], strings::trim_suffix));
    t.insert("trimPrefix", f(&[Str, Str], strings::trim_prefix));
    t.insert("nospace", f(&[Str], strings::nospace));
    t.insert("initials", f(&[Str], strings::initials));
    t.insert("randAlphaNum", f(&[Int], misc::rand_alpha_num));
    t.insert("randAlpha", f(&[Int], misc::rand_alpha));
    t.insert("randAscii", f(&[Int], misc::rand_ascii));
    t.insert("randNumeric", f(&[Int], misc::rand_numeric));
    t.insert("swapcase", f(&[Str], strings::swapcase));
    t.insert("shuffle", f(&[Str], misc::shuffle));
    t.insert("snakecase", f(&[Str], strings::snakecase));
    t.insert("camelcase", f(&[Str], strings::camelcase));
    t.insert("kebabcase", f(&[Str], strings::kebabcase));
    t.insert("wrap", f(&[Int, Str], strings::wrap));
    t.insert("wrapWith", f(&[Int, Str, Str], strings::wrap_with));
    t.insert("contains", f(&[Str, Str], strings::contains));
    t.insert("hasPrefix", f(&[Str, Str], strings::has_prefix));
    t.insert("hasSuffix", f(&[Str, Str], strings::has_suffix));
    t.insert("quote", fv(&[], Any, strings::quote));
    t.insert("squote", fv(&[], Any, strings::squote));
    t.insert("cat", fv(&[], Any, strings::cat));
    t.insert("indent", f(&[Int, Str], strings::indent));
    t.insert("nindent", f(&[Int, Str], strings::nindent));
    t.insert("replace", f(&[Str, Str, Str], strings::replace));
    t.insert("plural", f(&[Str, Str, Int], strings::plural));
    t.insert("sha1sum", f(&[Str], misc::sha1sum));
    t.insert("sha256sum", f(&[Str], misc::sha256sum));
    t.insert("sha512sum", f(&[Str], misc::sha512sum));
    t.insert("adler32sum", f(&[Str], misc::adler32sum));
    t.insert("toString", f(&[Any], |_, a| super::s(super::strval(&a[0]))));
    t.insert("split", f(&[Str, Str], strings::split));
    t.insert("splitList", f(&[Str, Str], strings::split_list));
    t.insert("splitn", f(&[Str, Int, Str], strings::splitn));
    t.insert("toStrings", f(&[Any], strings::to_strings));
    t.insert("join", f(&[Str, Any], strings::join));
    t.insert("sortAlpha", f(&[Any], strings::sort_alpha));

    // numeric.go
    t.insert("atoi", f(&[Str], numeric::atoi));
    t.insert("int64", f(&[Any], numeric::to_int64));
    t.insert("int", f(&[Any], numeric::to_int64));
    t.insert("float64", f(&[Any], numeric::to_float64));
    t.insert("seq", fv(&[], Int, numeric::seq));
    t.insert("toDecimal", f(&[Any], numeric::to_decimal));
    t.insert("until", f(&[Int], numeric::until));
    t.insert("untilStep", f(&[Int, Int, Int], numeric::until_step));
    t.insert("add1", f(&[Any], numeric::add1));
    t.insert("add", fv(&[], Any, numeric::add));
    t.insert("sub", f(&[Any, Any], numeric::sub));
    t.insert("div", f(&[Any, Any], numeric::div));
    t.insert("mod", f(&[Any, Any], numeric::modulo));
    t.insert("mul", fv(&[Any], Any, numeric::mul));
    t.insert("randInt", f(&[Int, Int], misc::rand_int));
    t.insert("add1f", f(&[Any], numeric::add1f));
    t.insert("addf", fv(&[], Any, numeric::addf));
    t.insert("subf", fv(&[Any], Any, numeric::subf));
    t.insert("divf", fv(&[Any], Any, numeric::divf));
    t.insert("mulf", fv(&[Any], Any, numeric::mulf));
    t.insert("biggest", fv(&[Any], Any, numeric::max));
    t.insert("max", fv(&[Any], Any, numeric::max));
    t.insert("min", fv(&[Any], Any, numeric::min));
    t.insert("maxf", fv(&[Any], Any, numeric::maxf));
    t.insert("minf", fv(&[Any], Any, numeric::minf));
    t.insert("ceil", f(&[Any], numeric::ceil));
    t.insert("floor", f(&[Any], numeric::floor));
    t.insert("round", fv(&[Any, Int], Float, numeric::round));

    // defaults.go
    t.insert("default", fv(&[Any], Any, misc::default));
    t.insert("empty", f(&[Any], |_, a| Ok(a[0].is_empty_value().into())));
    t.insert("coalesce", fv(&[], Any, misc::coalesce));
    t.insert(
        "all",
        fv(&[], Any, |_, a| {
            Ok(a.iter().all(|v| !v.is_empty_value()).into())
        }),
    );
    t.insert(
        "any",
        fv(&[], Any, |_, a| {
            Ok(a.iter().any(|v| !v.is_empty_value()).into())
        }),
    );
    t.insert("compact", f(&[Any], collections::compact));
    t.insert("mustCompact", f(&[Any], collections::compact));
    t.insert("fromJson", f(&[Str], misc::from_json));
    t.insert("mustFromJson", f(&[Str], misc::must_from_json));
    t.insert("toJson", f(&[Any], misc::to_json));
    t.insert("mustToJson", f(&[Any], misc::must_to_json));
    t.insert("toPrettyJson", f(&[Any], misc::to_pretty_json));
    t.insert("mustToPrettyJson", f(&[Any], misc::must_to_pretty_json));
    t.insert("toRawJson", f(&[Any], misc::must_to_raw_json));
    t.insert("mustToRawJson", f(&[Any], misc::must_to_raw_json));
    t.insert("ternary", f(&[Any, Any, Bool], misc::ternary));
    t.insert("deepCopy", f(&[Any], |_, mut a| Ok(a.swap_remove(0))));
    t.insert("mustDeepCopy", f(&[Any], |_, mut a| Ok(a.swap_remove(0))));

    // reflect.go (kinds only; see module docs for typeOf)
    t.insert("kindOf", f(&[Any], |_, a| super::s(a[0].kind_name())));
    t.insert(
        "kindIs",
        f(&[Str, Any], |_, a| {
            Ok((super::strval(&a[0]) == a[1].kind_name().as_bytes()).into())
        }),
    );
    t.insert(
        "deepEqual",
        f(&[Any, Any], |_, a| Ok((a[0] == a[1]).into())),
    );

    // paths (path and path/filepath on Linux behave the same)
    for (name, imp) in [
        ("base", misc::path_base as super::Imp),
        ("dir", misc::path_dir),
        ("clean", misc::path_clean),
        ("ext", misc::path_ext),
        ("isAbs", misc::path_is_abs),
        ("osBase", misc::path_base),
        ("osClean", misc::path_clean),
        ("osDir", misc::path_dir),
        ("osExt", misc::path_ext),
        ("osIsAbs", misc::path_is_abs),
    ] {
        t.insert(name, f(&[Str], imp));
    }

    // encoding
    t.insert("b64enc", f(&[Str], misc::b64enc));
    t.insert("b64dec", f(&[Str], misc::b64dec));
    t.insert("b32enc", f(&[Str], misc::b32enc));
    t.insert("b32dec", f(&[Str], misc::b32dec));

    // dict.go and list.go
    t.insert("tuple", fv(&[], Any, |_, a| Ok(a.into())));
    t.insert("list", fv(&[], Any, |_, a| Ok(a.into())));
    t.insert("dict", fv(&[], Any, collections::dict));
    t.insert("get", f(&[Map, Str], collections::get));
    let mut set = f(&[Map, Str, Any], collections::set);
    set.mutates = Some(0);
    t.insert("set", set);
    let mut unset = f(&[Map, Str], collections::unset);
    unset.mutates = Some(0);
    t.insert("unset", unset);
    t.insert("hasKey", f(&[Map, Str], collections::has_key));
    t.insert("pluck", fv(&[Str], Map, collections::pluck));
    t.insert("keys", fv(&[], Map, collections::keys));
    t.insert("pick", fv(&[Map], Str, collections::pick));
    t.insert("omit", fv(&[Map], Str, collections::omit));
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        let mut d = fv(
            &[Map],
            Map,
            if overwrite {
                collections::merge_overwrite
            } else {
                collections::merge
            },
        );
        d.mutates = Some(0);
        t.insert(name, d);
    }
    t.insert("values", f(&[Map], collections::values));
    for name in ["append", "push", "mustAppend", "mustPush"] {
        t.insert(name, f(&[Any, Any], collections::push));
    }
    for name in ["prepend", "mustPrepend"] {
        t.insert(name, f(&[Any, Any], collections::prepend));
    }
    for name in ["first", "mustFirst"] {
        t.insert(name, f(&[Any], collections::first));
    }
    for name in ["rest", "mustRest"] {
        t.insert(name, f(&[Any], collections::rest));
    }
    for name in ["last", "mustLast"] {
        t.insert(name, f(&[Any], collections::last));
    }
    for name in ["initial", "mustInitial"] {
        t.insert(name, f(&[Any], collections::initial));
    }
    for name in ["reverse", "mustReverse"] {
        t.insert(name, f(&[Any], collections::reverse));
    }
    for name in ["uniq", "mustUniq"] {
        t.insert(name, f(&[Any], collections::uniq));
    }
    for name in ["without", "mustWithout"] {
        t.insert(name, fv(&[Any], Any, collections::without));
    }
    for name in ["has", "mustHas"] {
        t.insert(name, f(&[Any, Any], collections::has));
    }
    for name in ["slice", "mustSlice"] {
        t.insert(name, fv(&[Any], Any, collections::slice));
    }
    t.insert("concat", fv(&[], Any, collections::concat));
    t.insert("dig", fv(&[], Any, collections::dig));
    for name in ["chunk", "mustChunk"] {
        t.insert(name, f(&[Int, Any], collections::chunk));
    }

    // crypto.go (hashing, random, uuid)
    t.insert("bcrypt", f(&[Str], misc::bcrypt));
    t.insert("htpasswd", f(&[Str, Str, Str], misc::htpasswd));
    t.insert("randBytes", f(&[Int], misc::rand_bytes));
    t.insert("uuidv4", f(&[], misc::uuidv4));

    // flow control
    t.insert(
        "fail",
        f(&[Str], |_, a| {
            Err(crate::template::error::FuncError::Fail(
                String::from_utf8_lossy(&super::strval(&a[0])).into_owned(),
            ))
        }),
    );

    // regex.go
    t.insert("regexMatch", f(&[Str, Str], misc::regex_match));
    t.insert("mustRegexMatch", f(&[Str, Str], misc::must_regex_match));
    for name in ["regexFindAll", "mustRegexFindAll"] {
        t.insert(name, f(&[Str, Str, Int], misc::regex_find_all));
    }
    for name in ["regexFind", "mustRegexFind"] {
        t.insert(name, f(&[Str, Str], misc::regex_find));
    }
    for name in ["regexReplaceAll", "mustRegexReplaceAll"] {
        t.insert(name, f(&[Str, Str, Str], misc::regex_replace_all));
    }
    for name in ["regexReplaceAllLiteral", "mustRegexReplaceAllLiteral"] {
        t.insert(name, f(&[Str, Str, Str], misc::regex_replace_all_literal));
    }
    for name in ["regexSplit", "mustRegexSplit"] {
        t.insert(name, f(&[Str, Str, Int], misc::regex_split));
    }
    t.insert("regexQuoteMeta", f(&[Str], misc::regex_quote_meta));

    // date.go
    t.insert("now", f(&[], dates::now));
    t.insert("date", f(&[Str, Any], dates::date));
    t.insert("dateInZone", f(&[Str, Any, Str], dates::date_in_zone));
    t.insert("date_in_zone", f(&[Str, Any, Str], dates::date_in_zone));
    t.insert("htmlDate", f(&[Any], dates::html_date));
    t.insert("htmlDateInZone", f(&[Any, Str], dates::html_date_in_zone));
    t.insert("dateModify", f(&[Str, Time], dates::date_modify));
    t.insert("date_modify", f(&[Str, Time], dates::date_modify));
    t.insert("mustDateModify", f(&[Str, Time], dates::must_date_modify));
    t.insert("must_date_modify", f(&[Str, Time], dates::must_date_modify));
    t.insert("toDate", f(&[Str, Str], dates::to_date));
    t.insert("mustToDate", f(&[Str, Str], dates::must_to_date));
    t.insert("unixEpoch", f(&[Time], dates::unix_epoch));
    t.insert("ago", f(&[Any], dates::ago));
    t.insert("duration", f(&[Any], dates::duration));
    t.insert("durationRound", f(&[Any], dates::duration_round));
}
