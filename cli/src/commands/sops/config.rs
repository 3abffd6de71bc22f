//! Finding and loading `.sops.yaml`, the way sops does.
//!
//! sops looks in the *current working directory* and up to 100 parents (not in the file's
//! directory: getsops/sops#242, #786); `--config`/`SOPS_CONFIG` skips the search, and then a
//! missing file is an error. A config is optional otherwise. Creation rules are matched
//! against the file's absolute path with the config's directory stripped.

use std::path::{Path, PathBuf};

use sealbox_keys::sops::config::{CreationRule, SopsConfig, find_config_file, path_for_rules};

use super::ConfigArgs;
use super::failure::{GENERIC, fail, sops};

/// A parsed config and where it came from.
#[derive(Debug)]
pub struct LoadedConfig {
    /// The config file.
    pub path: PathBuf,
    /// Its contents.
    pub config: SopsConfig,
}

impl LoadedConfig {
    /// The creation rule for `file` (absolute). `Ok(None)`: the config has no
    /// `creation_rules`; no matching rule is an error, as in sops.
    pub fn rule_for(&self, file: &Path) -> anyhow::Result<Option<&CreationRule>> {
        let dir = super::absolute(self.path.parent().unwrap_or(Path::new(".")));
        let rel = path_for_rules(&dir, file);
        self.config.rule_for(&rel).map_err(sops)
    }
}

/// Load the config named by `--config`, else the one found from the current directory.
/// A config that exists but does not parse is an error (exit 1), also for decryption.
pub fn load(args: &ConfigArgs) -> anyhow::Result<Option<LoadedConfig>> {
    let path = match &args.config {
        Some(p) if !p.as_os_str().is_empty() => p.clone(),
        _ => {
            let cwd = std::env::current_dir().map_err(|e| {
                fail(
                    GENERIC,
                    format!("cannot determine the current directory: {e}"),
                )
            })?;
            let (found, warning) = find_config_file(&cwd);
            if let Some(w) = warning {
                eprintln!("{w}");
            }
            match found {
                Some(p) => p,
                None => return Ok(None),
            }
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        fail(
            GENERIC,
            format!("could not read config file: open {}: {e}", path.display()),
        )
    })?;
    let config = SopsConfig::parse(&text).map_err(sops)?;
    Ok(Some(LoadedConfig { path, config }))
}

/// For commands that need a config (`updatekeys`): sops' "config file not found".
pub fn require(args: &ConfigArgs) -> anyhow::Result<LoadedConfig> {
    load(args)?.ok_or_else(|| fail(GENERIC, "config file not found"))
}
