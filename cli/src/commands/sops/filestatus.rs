//! `filestatus`: `{"encrypted":true}` when the file has sops metadata with a version and a
//! MAC, `{"encrypted":false}` for a file without metadata; a file that cannot be read or
//! parsed is an error (exit 1), as in sops.

use sealbox_keys::sops::encryption_status;

use super::failure::{GENERIC, fail};
use super::{Ctx, FilestatusArgs, absolute, format_for};

/// Run `filestatus`.
pub fn run(_ctx: &Ctx, args: FilestatusArgs) -> anyhow::Result<()> {
    let path = absolute(&args.file);
    let format = format_for(&path, args.input_type.as_deref());
    let input = std::fs::read(&path).map_err(|e| {
        fail(
            GENERIC,
            format!(
                "cannot check file status: cannot load encrypted file: Error reading file: {}: {e}",
                path.display()
            ),
        )
    })?;
    let encrypted = encryption_status(&input, format).map_err(|e| {
        fail(
            GENERIC,
            format!("cannot check file status: cannot load encrypted file: {e}"),
        )
    })?;
    println!("{{\"encrypted\":{encrypted}}}");
    Ok(())
}
