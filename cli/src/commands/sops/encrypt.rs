//! `encrypt`, and the encryption settings `edit` also uses for new files.
//!
//! Settings are merged like sops' `getEncryptConfig`: each rule flag overrides the same field
//! of the matching creation rule, at most one rule may result (exit 8), key flags
//! (`--age`/`SOPS_AGE_RECIPIENTS`) replace the rule's key groups entirely, and the binary
//! store ignores rules. When no recipient is named anywhere, native sealbox uses the local
//! keyring's age identity; sops mode fails like sops.

use std::path::Path;

use sealbox_keys::sops::{
    EncryptOptions, EncryptionRule, Format, Recipient, StoreOptions, convert_plain, encrypt,
};

use super::config::{self, LoadedConfig};
use super::failure::{CONFLICTING_PARAMETERS, GENERIC, fail, sops, unreadable_plaintext};
use super::io::{self, Content, Sink};
use super::{Ctx, EncryptArgs, KeyArgs, Mode, RuleArgs, absolute, format_for, now_unix};

/// Run `encrypt`.
pub fn run(ctx: &Ctx, args: EncryptArgs) -> anyhow::Result<()> {
    let from_stdin = args.file.is_none();
    if from_stdin {
        if args.in_place {
            return Err(fail(
                CONFLICTING_PARAMETERS,
                "Error: cannot use --in-place when reading from stdin",
            ));
        }
        if args.filename_override.is_none() {
            return Err(fail(
                CONFLICTING_PARAMETERS,
                "Error: must specify --filename-override when reading from stdin",
            ));
        }
    }
    if args.in_place && args.output.is_some() {
        return Err(fail(
            CONFLICTING_PARAMETERS,
            "Error: cannot operate on both --output and --in-place",
        ));
    }
    let file = args.file.as_deref().map(io::existing).transpose()?;
    let name = match (&args.filename_override, &file) {
        (Some(o), _) => absolute(o),
        (None, Some(f)) => f.clone(),
        (None, None) => unreachable!("checked above"),
    };
    let input_format = format_for(&name, args.types.input_type.as_deref());
    let output_format = format_for(&name, args.types.output_type.as_deref());
    let cfg = config::load(&args.config)?;
    let store = super::store_options(cfg.as_ref(), &args.config);
    let opts = encryption_options(
        ctx,
        &name,
        input_format,
        &args.keys,
        &args.rules,
        cfg.as_ref(),
        store,
    )?;
    let input = match &file {
        Some(f) => io::read_file(f)?,
        None => io::read_stdin()?,
    };
    // sops re-renders the plaintext in the output store before encrypting.
    let converted;
    let plaintext: &[u8] = if output_format == input_format {
        &input
    } else {
        converted = zeroize::Zeroizing::new(
            convert_plain(&input, input_format, output_format, &opts.store)
                .map_err(unreadable_plaintext)?,
        );
        &converted
    };
    let out = encrypt(
        plaintext,
        output_format,
        &opts,
        now_unix(),
        &mut rand::thread_rng(),
    )
    .map_err(unreadable_plaintext)?;
    let sink = Sink::from_flags(args.in_place, args.output.as_deref(), file.as_deref());
    io::write(&sink, &out, Content::Encrypted)
}

/// The six rule fields, CLI first, then the creation rule's.
fn merged_rule(
    flags: &RuleArgs,
    from_config: Option<&EncryptionRule>,
    format: Format,
) -> anyhow::Result<Option<EncryptionRule>> {
    let cfg_field = |name: &str| -> Option<String> {
        from_config
            .map(EncryptionRule::field)
            .filter(|(f, _)| *f == name)
            .map(|(_, v)| v.to_string())
    };
    let pick = |flag: &Option<String>, name: &str| -> Option<String> {
        flag.clone()
            .filter(|s| !s.is_empty())
            .or_else(|| cfg_field(name))
    };
    let fields = [
        pick(&flags.unencrypted_suffix, "unencrypted_suffix"),
        pick(&flags.encrypted_suffix, "encrypted_suffix"),
        pick(&flags.unencrypted_regex, "unencrypted_regex"),
        pick(&flags.encrypted_regex, "encrypted_regex"),
        pick(
            &flags.unencrypted_comment_regex,
            "unencrypted_comment_regex",
        ),
        pick(&flags.encrypted_comment_regex, "encrypted_comment_regex"),
    ];
    if format == Format::Binary {
        if fields.iter().take(5).any(Option::is_some) {
            eprintln!(
                "warning: encryption rules do not apply to the binary store (the whole file is one value, always encrypted); ignored"
            );
        }
        return Ok(None);
    }
    if fields.iter().filter(|f| f.is_some()).count() > 1 {
        return Err(fail(
            CONFLICTING_PARAMETERS,
            "Error: cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file",
        ));
    }
    let [us, es, ur, er, ucr, ecr] = fields;
    EncryptionRule::from_fields(
        us.as_deref(),
        es.as_deref(),
        ur.as_deref(),
        er.as_deref(),
        ucr.as_deref(),
        ecr.as_deref(),
    )
    .map_err(sops)
}

/// Parse a comma-separated recipient list.
pub fn parse_recipients(list: &str) -> anyhow::Result<Vec<Recipient>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|r| Recipient::parse(r).map_err(sops))
        .collect()
}

/// Encryption settings for a new file named `name` (absolute; used for the creation rule).
pub fn encryption_options(
    ctx: &Ctx,
    name: &Path,
    format: Format,
    keys: &KeyArgs,
    rules: &RuleArgs,
    cfg: Option<&LoadedConfig>,
    store: StoreOptions,
) -> anyhow::Result<EncryptOptions> {
    let rule = match cfg {
        Some(c) => c.rule_for(name)?,
        None => None,
    };
    let encryption_rule = merged_rule(rules, rule.and_then(|r| r.rule.as_ref()), format)?;
    if let Some((flag, _)) = keys.foreign().first() {
        return Err(fail(
            GENERIC,
            format!(
                "{flag}: sealbox encrypts only to age recipients (age1…, ssh-ed25519, ssh-rsa); use --age, or real sops for this key type"
            ),
        ));
    }
    let age = keys.age.as_deref().filter(|s| !s.trim().is_empty());
    let key_groups = if let Some(list) = age {
        vec![parse_recipients(list)?]
    } else if let Some(rule) = rule {
        if let Some(kind) = rule.unsupported_keys.first() {
            return Err(fail(
                GENERIC,
                format!(
                    "the creation rule in {} that matches {} uses {kind} keys; sealbox encrypts only to age recipients",
                    cfg.map(|c| c.path.display().to_string())
                        .unwrap_or_default(),
                    name.display()
                ),
            ));
        }
        rule.key_groups.clone()
    } else {
        default_recipients(ctx)?
    };
    let shamir_threshold = keys
        .shamir_secret_sharing_threshold
        .filter(|t| *t != 0)
        .or_else(|| rule.map(|r| r.shamir_threshold))
        .unwrap_or(0);
    Ok(EncryptOptions {
        key_groups,
        shamir_threshold,
        rule: encryption_rule,
        mac_only_encrypted: format != Format::Binary
            && (rules.mac_only_encrypted || rule.is_some_and(|r| r.mac_only_encrypted)),
        store,
    })
}

/// No recipient anywhere: native sealbox uses the keyring's age identity (made on first
/// use), sops mode fails as sops does.
fn default_recipients(ctx: &Ctx) -> anyhow::Result<Vec<Vec<Recipient>>> {
    const NONE: &str = "config file not found, or has no creation rules, and no keys provided through command line options";
    let keyring = match (ctx.mode, &ctx.keyring) {
        (Mode::Native, Some(k)) => k,
        _ => return Err(fail(GENERIC, NONE)),
    };
    let (recipient, created) = keyring.ensure_age_identity()?;
    if created {
        eprintln!(
            "created an age identity for SOPS files in {} (recipient {recipient}); back it up: without it these files cannot be decrypted",
            keyring.age_keys_path().display()
        );
    }
    Ok(vec![parse_recipients(&recipient)?])
}
