//! `edit`: decrypt into a private temporary file, run the editor, encrypt again.
//!
//! The plaintext lives only in a 0600 file inside a 0700 directory that is removed on every
//! way out (success, error, Ctrl-C after the editor, SIGTERM). The file is sealed again with
//! its own data key, so values the user did not touch keep their exact ciphertext, and YAML
//! keeps the user's layout. If the edited text does not parse, sealbox says why and offers to
//! re-open it (interactive), or fails leaving the original untouched (no terminal). An
//! unchanged file is sops' exit 200.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use sealbox_keys::sops::{EncryptOptions, Format, OpenedFile, SopsError, encrypt};
use zeroize::Zeroizing;

use super::failure::{
    COULD_NOT_READ_INPUT, FILE_NOT_MODIFIED, GENERIC, NO_EDITOR, check_decryption_order, fail, sops,
};
use super::io::{self, Content, Sink};
use super::private_dir::{ForegroundChild, PrivateDir, write_private_file};
use super::{Ctx, EditArgs, absolute, config, encrypt::encryption_options, format_for, identity};

/// What is being edited.
enum Target {
    /// An existing encrypted file, opened with its data key.
    Existing(Box<OpenedFile>),
    /// A new file: encrypted from scratch once the user saved it.
    New(EncryptOptions),
}

/// Run `edit`.
pub fn run(ctx: &Ctx, args: EditArgs) -> anyhow::Result<()> {
    if args.show_master_keys {
        return Err(fail(
            GENERIC,
            "--show-master-keys is not supported by sealbox: the metadata is not edited by hand; use `sealbox rotate`/`updatekeys` to change recipients",
        ));
    }
    check_decryption_order(args.decryption.decryption_order.as_deref())?;
    let path = absolute(&args.file);
    let input_format = format_for(&path, args.types.input_type.as_deref());
    let output_format = format_for(&path, args.types.output_type.as_deref());
    let cfg = config::load(&args.config)?;
    let store = super::store_options(cfg.as_ref(), &args.config);
    let (target, plaintext) = if path.exists() {
        let input = io::read_file(&path)?;
        let opened = identity::open(
            ctx,
            &input,
            input_format,
            args.decryption.ignore_mac,
            store.clone(),
        )?;
        if output_format != input_format {
            return Err(fail(
                GENERIC,
                "edit keeps the file's own format; use decrypt and encrypt to convert it",
            ));
        }
        let text = Zeroizing::new(opened.plaintext().to_vec());
        (Target::Existing(Box::new(opened)), text)
    } else {
        let opts = encryption_options(
            ctx,
            &path,
            output_format,
            &args.keys,
            &args.rules,
            cfg.as_ref(),
            store.clone(),
        )?;
        let text = Zeroizing::new(super::examples::example(output_format, &store));
        (Target::New(opts), text)
    };
    let dir = PrivateDir::new()?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = write_private_file(dir.path(), &name, &plaintext)?;
    let encrypted = edit_until_valid(&tmp, &plaintext, target, output_format, &path)?;
    drop(dir);
    io::write(&Sink::InPlace(path), &encrypted, Content::Encrypted)
}

/// Run the editor until the result parses (or the user gives up); returns the encrypted file.
fn edit_until_valid(
    tmp: &Path,
    original: &[u8],
    mut target: Target,
    format: Format,
    path: &Path,
) -> anyhow::Result<Vec<u8>> {
    let interactive = std::io::stdin().is_terminal();
    loop {
        run_editor(tmp)?;
        let edited = Zeroizing::new(std::fs::read(tmp).map_err(|e| {
            fail(
                COULD_NOT_READ_INPUT,
                format!("Could not read edited file: {e}"),
            )
        })?);
        if edited.as_slice() == original {
            return Err(fail(FILE_NOT_MODIFIED, "File has not changed, exiting."));
        }
        let result = match &mut target {
            Target::Existing(opened) => opened
                .replace_plaintext(&edited)
                .and_then(|_| opened.seal(super::now_unix(), &mut rand::thread_rng())),
            Target::New(opts) => encrypt(
                &edited,
                format,
                opts,
                super::now_unix(),
                &mut rand::thread_rng(),
            ),
        };
        match result {
            Ok(out) => return Ok(out),
            Err(
                e @ (SopsError::Parse { .. }
                | SopsError::Unsupported { .. }
                | SopsError::Limit { .. }
                | SopsError::AlreadyEncrypted
                | SopsError::EmptyInput
                | SopsError::EncryptValue { .. }),
            ) => {
                if !interactive {
                    return Err(fail(
                        GENERIC,
                        format!(
                            "Could not load tree, probably due to invalid syntax: {e}\n{} was left unchanged.",
                            path.display()
                        ),
                    ));
                }
                eprint!(
                    "Could not load tree, probably due to invalid syntax: {e}\nPress Enter to return to the editor, or Ctrl+C to exit (the original file is unchanged). "
                );
                let _ = std::io::stderr().flush();
                let mut line = String::new();
                if std::io::stdin().lock().read_line(&mut line).unwrap_or(0) == 0 {
                    return Err(fail(
                        GENERIC,
                        format!("no answer; {} was left unchanged", path.display()),
                    ));
                }
            }
            Err(other) => return Err(sops(other)),
        }
    }
}

/// The editor command: `SOPS_EDITOR`, else `EDITOR` (shlex-split), else vim, nano or vi.
fn editor_command(path: &Path) -> anyhow::Result<Command> {
    for var in ["SOPS_EDITOR", "EDITOR"] {
        if let Ok(v) = std::env::var(var)
            && !v.is_empty()
        {
            let parts = shlex::split(&v).filter(|p| !p.is_empty()).ok_or_else(|| {
                fail(
                    NO_EDITOR,
                    format!("Could not run editor: invalid ${var}: {v}"),
                )
            })?;
            let mut cmd = Command::new(&parts[0]);
            cmd.args(&parts[1..]).arg(path);
            return Ok(cmd);
        }
    }
    for name in ["vim", "nano", "vi"] {
        if let Some(found) = find_in_path(name) {
            let mut cmd = Command::new(found);
            cmd.arg(path);
            return Ok(cmd);
        }
    }
    Err(fail(
        NO_EDITOR,
        "Could not run editor: no editor available: sealbox uses the editor in SOPS_EDITOR or EDITOR, and if neither is set any of vim, nano, vi, but none of them could be found",
    ))
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn run_editor(path: &Path) -> anyhow::Result<()> {
    let mut cmd = editor_command(path)?;
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(NO_EDITOR, format!("Could not run editor: {e}")))?;
    let status = {
        let _fg = ForegroundChild::new(child.id());
        child.wait()
    }
    .map_err(|e| fail(NO_EDITOR, format!("Could not run editor: {e}")))?;
    if !status.success() {
        return Err(fail(NO_EDITOR, format!("Could not run editor: {status}")));
    }
    Ok(())
}
