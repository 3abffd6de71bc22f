//! Where `render` gets its manifests: the files of a directory, or `kustomize build` when the
//! directory holds a kustomization.
//!
//! Directory rule (the same files Argo CD's directory source reads): regular files named
//! `*.yaml`, `*.yml` or `*.json`, in byte order of their path relative to the directory;
//! names starting with `.` (e.g. `.sops.yaml`, `.git/`) are skipped; subdirectories only with
//! `--recursive`. Every other file is ignored (reported with `--verbose`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sealbox_keys::sops::Format;

use crate::exit::{Code, fail};

/// File names that make a directory a kustomization (kustomize's own list).
pub const KUSTOMIZATION_FILES: &[&str] =
    &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// A manifest file found in the directory.
#[derive(Clone, Debug)]
pub struct ManifestFile {
    /// Path relative to the directory, `/`-separated (used in messages and for ordering).
    pub name: String,
    /// Path to read.
    pub path: PathBuf,
    /// YAML or JSON, by extension.
    pub format: Format,
}

/// The manifest files of `dir` in render order, and the names of files that were ignored.
pub fn manifest_files(
    dir: &Path,
    recursive: bool,
) -> anyhow::Result<(Vec<ManifestFile>, Vec<String>)> {
    let mut files = Vec::new();
    let mut ignored = Vec::new();
    walk(dir, "", recursive, &mut files, &mut ignored)?;
    files.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    ignored.sort();
    Ok((files, ignored))
}

fn walk(
    dir: &Path,
    prefix: &str,
    recursive: bool,
    files: &mut Vec<ManifestFile>,
    ignored: &mut Vec<String>,
) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        fail(
            Code::InputUnreadable,
            format!("cannot read directory {}: {e}", dir.display()),
        )
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| {
            fail(
                Code::InputUnreadable,
                format!("cannot read directory {}: {e}", dir.display()),
            )
        })?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let name = format!("{prefix}{file_name}");
        if file_name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        // Follow symlinks like Argo CD does for files inside the repository.
        let meta = std::fs::metadata(&path)
            .map_err(|e| fail(Code::InputUnreadable, format!("{name}: cannot read: {e}")))?;
        if meta.is_dir() {
            if recursive {
                walk(&path, &format!("{name}/"), recursive, files, ignored)?;
            }
            continue;
        }
        let lower = file_name.to_ascii_lowercase();
        let format = if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Format::Yaml
        } else if lower.ends_with(".json") {
            Format::Json
        } else {
            ignored.push(name);
            continue;
        };
        files.push(ManifestFile { name, path, format });
    }
    Ok(())
}

/// The kustomization file of `dir`, if it has one.
pub fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
}

/// The kustomize command: `--kustomize-command`, else `SEALBOX_KUSTOMIZE_COMMAND`, else
/// `kustomize build` when `kustomize` is on `PATH`, else `kubectl kustomize`.
pub fn kustomize_command(flag: Option<&str>) -> anyhow::Result<Vec<String>> {
    let from_env = std::env::var("SEALBOX_KUSTOMIZE_COMMAND").ok();
    let chosen = flag
        .map(str::to_owned)
        .or(from_env.filter(|s| !s.trim().is_empty()));
    let text = match chosen {
        Some(t) => t,
        None if on_path("kustomize") => "kustomize build".to_owned(),
        None => "kubectl kustomize".to_owned(),
    };
    match shlex::split(&text) {
        Some(argv) if !argv.is_empty() => Ok(argv),
        _ => Err(fail(
            Code::Usage,
            format!(
                "--kustomize-command {text:?}: expected a command line like \"kustomize build\""
            ),
        )),
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|p| {
            let candidate = p.join(program);
            candidate.is_file()
        })
    })
}

/// Run `kustomize build DIR` (or the chosen command with `DIR` appended) and return its
/// stdout. A failure carries kustomize's own message (it names files, not values).
pub fn kustomize_build(argv: &[String], dir: &Path) -> anyhow::Result<String> {
    let output = Command::new(&argv[0])
        .args(&argv[1..])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| {
            fail(
                Code::Generic,
                format!("{}: cannot run {}: {e}", dir.display(), argv[0]),
            )
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(fail(
            Code::Generic,
            format!(
                "{}: `{} {}` failed ({}): {}",
                dir.display(),
                argv.join(" "),
                dir.display(),
                output.status,
                stderr.trim()
            ),
        ));
    }
    String::from_utf8(output.stdout).map_err(|_| {
        fail(
            Code::MalformedInput,
            format!(
                "{}: kustomize printed output that is not UTF-8",
                dir.display()
            ),
        )
    })
}

/// Where to look for the SOPS files a kustomize build copied documents from: `--root`, else
/// the repository root Argo CD checked out (the working directory minus
/// `ARGOCD_APP_SOURCE_PATH`), else the nearest ancestor of `dir` holding `.git`, else `dir`.
pub fn search_root(dir: &Path, flag: Option<&Path>) -> PathBuf {
    if let Some(root) = flag {
        return root.to_path_buf();
    }
    let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if let Some(app_path) = std::env::var_os("ARGOCD_APP_SOURCE_PATH")
        && let Ok(cwd) = std::env::current_dir()
    {
        let depth = Path::new(&app_path)
            .components()
            .filter(|c| matches!(c, std::path::Component::Normal(_)))
            .count();
        let mut root = cwd.as_path();
        for _ in 0..depth {
            root = root.parent().unwrap_or(root);
        }
        if abs.starts_with(root) {
            return root.to_path_buf();
        }
    }
    abs.ancestors()
        .find(|a| a.join(".git").exists())
        .map_or(abs.clone(), Path::to_path_buf)
}

/// Find, under `root`, the `*.yaml|*.yml|*.json` files whose text contains each wanted MAC
/// (an `ENC[…]` string unique to one encryption of one file). Dot directories are skipped.
pub fn find_sources(root: &Path, macs: &[String]) -> HashMap<String, PathBuf> {
    let mut found = HashMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let lower = name.to_ascii_lowercase();
            if !(lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json")) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if !text.contains("ENC[") {
                continue;
            }
            for mac in macs {
                if !found.contains_key(mac) && text.contains(mac.as_str()) {
                    found.insert(mac.clone(), path.clone());
                }
            }
        }
        if found.len() == macs.len() {
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_in_byte_order_hidden_and_other_files_skipped() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "b.yaml",
            "a.json",
            "B.yml",
            ".sops.yaml",
            "notes.txt",
            "sub/c.yaml",
        ] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        let (files, ignored) = manifest_files(dir.path(), false).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["B.yml", "a.json", "b.yaml"]);
        assert_eq!(ignored, ["notes.txt"]);
        let (files, _) = manifest_files(dir.path(), true).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["B.yml", "a.json", "b.yaml", "sub/c.yaml"]);
    }

    #[test]
    fn kustomize_command_is_split_like_a_shell() {
        assert_eq!(
            kustomize_command(Some("kustomize build --enable-helm")).unwrap(),
            ["kustomize", "build", "--enable-helm"]
        );
        assert!(kustomize_command(Some("  ")).is_err());
    }
}
