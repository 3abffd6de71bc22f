//! `decrypt`: to stdout, `--output`, or `-i`; `--extract` one branch or value.

use sealbox_keys::sops::{SopsError, parse_path};

use super::failure::{
    CONFLICTING_PARAMETERS, GENERIC, INVALID_TREE_PATH, check_decryption_order, fail, sops,
};
use super::io::{self, Content, Sink};
use super::{Ctx, DecryptArgs, absolute, config, format_for, identity};

/// Run `decrypt`.
pub fn run(ctx: &Ctx, args: DecryptArgs) -> anyhow::Result<()> {
    let from_stdin = args.file.is_none();
    if from_stdin && args.in_place {
        return Err(fail(
            CONFLICTING_PARAMETERS,
            "Error: cannot use --in-place when reading from stdin",
        ));
    }
    if args.in_place && args.output.is_some() {
        return Err(fail(
            CONFLICTING_PARAMETERS,
            "Error: cannot operate on both --output and --in-place",
        ));
    }
    let file = args.file.as_deref().map(io::existing).transpose()?;
    // Reading stdin without a name: sops picks its stores for the empty path (binary).
    let name = match (&args.filename_override, &file) {
        (Some(o), _) => absolute(o),
        (None, Some(f)) => f.clone(),
        (None, None) => Default::default(),
    };
    let input_format = format_for(&name, args.types.input_type.as_deref());
    let output_format = format_for(&name, args.types.output_type.as_deref());
    let cfg = config::load(&args.config)?;
    let store = super::store_options(cfg.as_ref(), &args.config);
    check_decryption_order(args.decryption.decryption_order.as_deref())?;
    let extract = match args.extract.as_deref().filter(|e| !e.is_empty()) {
        Some(e) => Some(parse_path(e).map_err(|err| {
            let reason = sops_path_error(e).unwrap_or_else(|| match err {
                SopsError::InvalidTreePath { reason, .. } => reason,
                other => other.to_string(),
            });
            fail(
                INVALID_TREE_PATH,
                format!("error parsing --extract path: {reason}"),
            )
        })?),
        None => None,
    };
    let input = match &file {
        Some(f) => io::read_file(f)?,
        None => io::read_stdin()?,
    };
    let opened =
        identity::open_for_reading(ctx, &input, input_format, args.decryption.ignore_mac, store)?;
    let out = match &extract {
        Some(path) => {
            zeroize::Zeroizing::new(opened.extract(path, output_format).map_err(|e| match e {
                SopsError::PathNotFound { component } => fail(
                    GENERIC,
                    format!("error truncating tree: component {component} not found"),
                ),
                other => sops(other),
            })?)
        }
        None => zeroize::Zeroizing::new(opened.into_output(output_format).map_err(sops)?),
    };
    let sink = Sink::from_flags(args.in_place, args.output.as_deref(), file.as_deref());
    io::write(&sink, &out, Content::Plaintext)
}

/// sops' own wording for a malformed tree path (`parseTreePath` splits at `[`; every part
/// must end with `]` and be a quoted key or an integer).
fn sops_path_error(arg: &str) -> Option<String> {
    for component in arg.split('[').filter(|c| !c.is_empty()) {
        let Some(inner) = component.strip_suffix(']') else {
            return Some(format!("component {component} doesn't end with ]"));
        };
        if !inner.starts_with(['"', '\'']) && inner.parse::<i64>().is_err() {
            return Some(format!("strconv.Atoi: parsing {inner:?}: invalid syntax"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn tree_path_errors_use_sops_wording() {
        assert_eq!(
            super::sops_path_error("x").as_deref(),
            Some("component x doesn't end with ]")
        );
        assert_eq!(
            super::sops_path_error("[abc]").as_deref(),
            Some("strconv.Atoi: parsing \"abc\": invalid syntax")
        );
        assert_eq!(super::sops_path_error(r#"["a"][0]"#), None);
    }
}
