//! `set` and `unset`: change one value of an encrypted file in place. The file keeps its
//! data key, unchanged values keep their ciphertext, and YAML keeps its layout (only the
//! changed entry's lines differ, plus `lastmodified` and `mac`).

use std::io::Read as _;

use sealbox_keys::sops::{OpenedFile, PathStep, SopsError, parse_path};
use zeroize::Zeroizing;

use super::failure::{
    COULD_NOT_READ_INPUT, GENERIC, INVALID_SET_FORMAT, NO_FILE_SPECIFIED, check_decryption_order,
    fail, sops,
};
use super::io::{self, Content, Sink};
use super::{Ctx, SetArgs, UnsetArgs, config, format_for, identity};

fn tree_path(text: &str, what: &str) -> anyhow::Result<Vec<PathStep>> {
    parse_path(text).map_err(|_| fail(INVALID_SET_FORMAT, format!("Invalid {what} index format")))
}

/// The JSON value of `set`, from the argument, `--value-file` or `--value-stdin`.
fn value(args: &SetArgs) -> anyhow::Result<serde_json::Value> {
    let text = if args.value_stdin {
        let mut buf = Zeroizing::new(Vec::new());
        std::io::stdin().read_to_end(&mut buf).map_err(|e| {
            fail(
                COULD_NOT_READ_INPUT,
                format!("Error reading from stdin: {e}"),
            )
        })?;
        buf
    } else if args.value_file {
        let file = args.value.as_deref().unwrap_or_default();
        Zeroizing::new(std::fs::read(file).map_err(|e| fail(GENERIC, format!("open {file}: {e}")))?)
    } else {
        Zeroizing::new(args.value.clone().unwrap_or_default().into_bytes())
    };
    serde_json::from_slice(&text)
        .map_err(|_| fail(INVALID_SET_FORMAT, "Value for --set is not valid JSON"))
}

fn open_for_change(
    ctx: &Ctx,
    file: &std::path::Path,
    input_type: Option<&str>,
    output_type: Option<&str>,
    ignore_mac: bool,
    config_args: &super::ConfigArgs,
) -> anyhow::Result<(std::path::PathBuf, OpenedFile)> {
    let path = io::existing(file)?;
    let input_format = format_for(&path, input_type);
    if format_for(&path, output_type) != input_format {
        return Err(fail(
            GENERIC,
            "set/unset keep the file's own format; use decrypt and encrypt to convert it",
        ));
    }
    let cfg = config::load(config_args)?;
    let store = super::store_options(cfg.as_ref(), config_args);
    let input = io::read_file(&path)?;
    let opened = identity::open(ctx, &input, input_format, ignore_mac, store)?;
    Ok((path, opened))
}

/// Run `set`.
pub fn set(ctx: &Ctx, args: SetArgs) -> anyhow::Result<()> {
    if args.value_stdin && args.value.is_some() {
        return Err(fail(
            NO_FILE_SPECIFIED,
            "Error: file specified, or index and value are missing. Need precisely 2 positional arguments since --value-stdin is used.",
        ));
    }
    if !args.value_stdin && args.value.is_none() {
        return Err(fail(
            NO_FILE_SPECIFIED,
            "Error: no file specified, or index and value are missing. Need precisely 3 positional arguments.",
        ));
    }
    check_decryption_order(args.decryption.decryption_order.as_deref())?;
    let path = tree_path(&args.path, "set")?;
    let value = value(&args)?;
    let (file, mut opened) = open_for_change(
        ctx,
        &args.file,
        args.types.input_type.as_deref(),
        args.types.output_type.as_deref(),
        args.decryption.ignore_mac,
        &args.config,
    )?;
    let changed = opened.set(&path, &value).map_err(sops)?;
    if !changed && args.idempotent {
        eprintln!("File not written due to no change");
        return Ok(());
    }
    let out = opened
        .seal(super::now_unix(), &mut rand::thread_rng())
        .map_err(sops)?;
    io::write(&Sink::InPlace(file), &out, Content::Encrypted)
}

/// Run `unset`.
pub fn unset(ctx: &Ctx, args: UnsetArgs) -> anyhow::Result<()> {
    check_decryption_order(args.decryption.decryption_order.as_deref())?;
    let path = tree_path(&args.path, "unset")?;
    let (file, mut opened) = open_for_change(
        ctx,
        &args.file,
        args.types.input_type.as_deref(),
        args.types.output_type.as_deref(),
        args.decryption.ignore_mac,
        &args.config,
    )?;
    match opened.unset(&path) {
        Ok(()) => {}
        Err(SopsError::PathNotFound { component }) => {
            if args.idempotent {
                return Ok(());
            }
            let key = component
                .trim_start_matches("['")
                .trim_end_matches("']")
                .trim_start_matches('[')
                .trim_end_matches(']');
            return Err(fail(GENERIC, format!("Key not found: {key}")));
        }
        Err(e) => return Err(sops(e)),
    }
    let out = opened
        .seal(super::now_unix(), &mut rand::thread_rng())
        .map_err(sops)?;
    io::write(&Sink::InPlace(file), &out, Content::Encrypted)
}
