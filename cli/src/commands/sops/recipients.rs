//! Changing who can open a file: `rotate` (a new data key, optionally adding/removing age
//! recipients) and `updatekeys` (the recipients of the matching creation rule, same data key).

use std::io::{BufRead as _, Write as _};
use std::path::Path;

use sealbox_keys::sops::{MasterKey, Metadata, Recipient};

use super::encrypt::parse_recipients;
use super::failure::{
    CANNOT_CHANGE_KEYS_OF_MISSING_FILE, CONFLICTING_PARAMETERS, GENERIC, check_decryption_order,
    fail, sops,
};
use super::io::{self, Content, Sink};
use super::{Ctx, RotateArgs, UpdatekeysArgs, absolute, config, format_for, identity};

/// Run `rotate`.
pub fn rotate(ctx: &Ctx, args: RotateArgs) -> anyhow::Result<()> {
    if args.in_place && args.output.is_some() {
        return Err(fail(
            CONFLICTING_PARAMETERS,
            "Error: cannot operate on both --output and --in-place",
        ));
    }
    let abs = absolute(&args.file);
    if !abs.exists()
        && (args.add_age.is_some() || args.rm_age.is_some() || !args.foreign.is_empty())
    {
        return Err(fail(
            CANNOT_CHANGE_KEYS_OF_MISSING_FILE,
            format!(
                "Error: cannot add or remove keys on non-existent file \"{}\", use the `edit` subcommand instead.",
                abs.display()
            ),
        ));
    }
    if let Some((flag, _)) = args.foreign.first() {
        return Err(fail(
            GENERIC,
            format!("{flag}: sealbox can add and remove only age recipients"),
        ));
    }
    let file = io::existing(&args.file)?;
    let name = args
        .filename_override
        .as_deref()
        .map(absolute)
        .unwrap_or_else(|| file.clone());
    let input_format = format_for(&name, args.types.input_type.as_deref());
    let output_format = format_for(&name, args.types.output_type.as_deref());
    if input_format != output_format {
        return Err(fail(
            GENERIC,
            "rotate keeps the file's own format; use decrypt and encrypt to convert it",
        ));
    }
    let cfg = config::load(&args.config)?;
    let store = super::store_options(cfg.as_ref(), &args.config);
    check_decryption_order(args.decryption.decryption_order.as_deref())?;
    let add: Vec<Recipient> = match &args.add_age {
        Some(list) => parse_recipients(list)?,
        None => Vec::new(),
    };
    let remove: Vec<String> = args
        .rm_age
        .as_deref()
        .map(|l| {
            l.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let input = io::read_file(&file)?;
    let mut opened = identity::open(ctx, &input, input_format, args.decryption.ignore_mac, store)?;
    let out = opened
        .rotate(&add, &remove, super::now_unix(), &mut rand::thread_rng())
        .map_err(sops)?;
    let sink = Sink::from_flags(args.in_place, args.output.as_deref(), Some(&file));
    io::write(&sink, &out, Content::Encrypted)
}

fn key_name(k: &MasterKey) -> String {
    match k {
        MasterKey::Age { recipient, .. } => recipient.clone(),
        other => other.describe(),
    }
}

/// sops' `DiffKeyGroups` + `PrettyPrintDiffs` (without colours); returns the text and
/// whether any recipient is removed.
fn describe_changes(
    file: &Metadata,
    new_groups: &[Vec<Recipient>],
    threshold: usize,
) -> (String, bool, bool) {
    let mut out = String::new();
    let old_t = file.shamir_threshold;
    if old_t > 0 && old_t == threshold {
        out.push_str(&format!("shamir_threshold: {threshold}\n"));
    } else {
        if threshold > 0 {
            out.push_str(&format!("+++ shamir_threshold: {threshold}\n"));
        }
        if old_t > 0 {
            out.push_str(&format!("--- shamir_threshold: {old_t}\n"));
        }
    }
    let mut changed = old_t != threshold;
    let mut removed_any = false;
    for i in 0..file.key_groups.len().max(new_groups.len()) {
        let ours: Vec<String> = file
            .key_groups
            .get(i)
            .map(|g| g.iter().map(key_name).collect())
            .unwrap_or_default();
        let theirs: Vec<String> = new_groups
            .get(i)
            .map(|g| g.iter().map(|r| r.as_str().to_string()).collect())
            .unwrap_or_default();
        out.push_str(&format!("Group {}\n", i + 1));
        for k in theirs.iter().filter(|k| ours.contains(k)) {
            out.push_str(&format!("    {k}\n"));
        }
        for k in theirs.iter().filter(|k| !ours.contains(k)) {
            out.push_str(&format!("+++ {k}\n"));
            changed = true;
        }
        for k in ours.iter().filter(|k| !theirs.contains(k)) {
            out.push_str(&format!("--- {k}\n"));
            changed = true;
            removed_any = true;
        }
    }
    (out, changed, removed_any)
}

/// Run `updatekeys`.
pub fn updatekeys(ctx: &Ctx, args: UpdatekeysArgs) -> anyhow::Result<()> {
    let cfg = config::require(&args.config)?;
    let single = args.files.len() == 1;
    let mut failed = 0;
    for file in &args.files {
        let result = update_one(ctx, &args, &cfg, file);
        match result {
            Ok(()) => {}
            Err(e) if single => return Err(e),
            Err(e) => {
                eprintln!("{}: {e:#}", file.display());
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(fail(GENERIC, format!("failed updating {failed} key(s)")));
    }
    Ok(())
}

fn update_one(
    ctx: &Ctx,
    args: &UpdatekeysArgs,
    cfg: &config::LoadedConfig,
    file: &Path,
) -> anyhow::Result<()> {
    let path = absolute(file);
    if path.is_dir() {
        return Err(fail(GENERIC, "can't operate on a directory"));
    }
    let format = format_for(&path, args.input_type.as_deref());
    let store = super::store_options(Some(cfg), &args.config);
    eprintln!("Syncing keys for file {}", path.display());
    let input = io::read_file(&path)?;
    let rule = cfg.rule_for(&path)?.ok_or_else(|| {
        fail(
            GENERIC,
            format!(
                "The config file {} does not contain any creation rule",
                cfg.path.display()
            ),
        )
    })?;
    if let Some(kind) = rule.unsupported_keys.first() {
        return Err(fail(
            GENERIC,
            format!(
                "the creation rule for {} uses {kind} keys; sealbox can only write age recipients",
                path.display()
            ),
        ));
    }
    let mut opened = identity::open(ctx, &input, format, false, store)?;
    let mut threshold = opened.metadata().shamir_threshold;
    if let Some(t) = args.shamir_secret_sharing_threshold.filter(|t| *t != 0) {
        threshold = t;
    }
    threshold = threshold.min(rule.key_groups.len());
    let (diff, changed, removed) = describe_changes(opened.metadata(), &rule.key_groups, threshold);
    if !changed {
        eprintln!("File {} already up to date", path.display());
        return Ok(());
    }
    print!("The following changes will be made to the file's groups:\n{diff}");
    if !args.yes {
        let mut answer = String::new();
        loop {
            print!("Is this okay? (y/n):");
            let _ = std::io::stdout().flush();
            answer.clear();
            if std::io::stdin().lock().read_line(&mut answer).unwrap_or(0) == 0 {
                return Err(fail(GENERIC, "EOF"));
            }
            match answer.trim() {
                "y" => break,
                "n" => {
                    eprintln!("File {} left unchanged", path.display());
                    return Ok(());
                }
                _ => {}
            }
        }
    } else {
        let _ = std::io::stdout().flush();
    }
    let out = opened
        .update_keys(&rule.key_groups, threshold, &mut rand::thread_rng())
        .map_err(sops)?;
    io::write(&Sink::InPlace(path.clone()), &out, Content::Encrypted)?;
    eprintln!("File {} synced with new keys", path.display());
    if removed {
        let cmd = match ctx.mode {
            super::Mode::Native => "sealbox rotate -i",
            super::Mode::Sops => "sops rotate -i",
        };
        eprintln!(
            "note: the data key was kept, so a removed recipient can still decrypt this file and every copy of it (Git history, backups, caches). Run `{cmd} {}` to change the data key, so that new versions are safe from it.",
            file.display()
        );
    }
    Ok(())
}
