//! `sealbox crds`: the CustomResourceDefinitions the controller serves, generated from the
//! Rust types (the checked-in copy under `deploy/crds/` is tested to be current).

use std::io::Write as _;

use anyhow::Context as _;
use kube::CustomResourceExt as _;
use sealbox_controller::api::SealedSecret;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// YAML documents separated by `---`.
    Yaml,
    /// A JSON `v1 List`.
    Json,
}

/// Print the CRDs (apply them with `sealbox crds | kubectl apply -f -`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "yaml")]
    pub format: Format,
    /// Which API group: bitnami.com (SealedSecret, kubeseal-compatible) or sealbox.dev
    /// (SopsSecret). The external-secrets.io CRDs are in deploy/crds/.
    #[arg(long, value_enum, default_value = "bitnami.com")]
    pub group: Group,
}

/// The API groups `sealbox crds` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Group {
    /// SealedSecret.
    #[value(name = "bitnami.com")]
    Bitnami,
    /// SopsSecret.
    #[value(name = "sealbox.dev")]
    Sealbox,
}

/// Every CRD of the bitnami.com group, in a fixed order.
pub fn crds() -> Vec<serde_json::Value> {
    vec![serde_json::to_value(SealedSecret::crd()).expect("CRDs serialize")]
}

/// The CRDs of `group`.
pub fn crds_of(group: Group) -> Vec<serde_json::Value> {
    match group {
        Group::Bitnami => crds(),
        Group::Sealbox => vec![sealbox_controller::api::sops_secret::crd()],
    }
}

/// The CRDs of `group` rendered in `format`.
pub fn render_group(format: Format, group: Group) -> anyhow::Result<String> {
    let crds = crds_of(group);
    Ok(match format {
        Format::Yaml => {
            let mut out = String::new();
            for crd in &crds {
                out.push_str("---\n");
                out.push_str(&serde_saphyr::to_string(crd).context("rendering a CRD as YAML")?);
            }
            out
        }
        Format::Json => {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": crds});
            let mut s = serde_json::to_string_pretty(&list)?;
            s.push('\n');
            s
        }
    })
}

/// Run `sealbox crds`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let text = render_group(args.format, args.group)?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing to stdout")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `deploy/crds/sealedsecrets.bitnami.com.yaml` must be what `sealbox crds` prints;
    /// regenerate with `cargo run -q -- crds > deploy/crds/sealedsecrets.bitnami.com.yaml`.
    #[test]
    fn checked_in_crds_are_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/crds/sealedsecrets.bitnami.com.yaml"
        );
        let checked_in = std::fs::read_to_string(path).expect("deploy/crds file exists");
        assert!(
            checked_in == render_group(Format::Yaml, Group::Bitnami).unwrap(),
            "{path} is stale: regenerate it with `cargo run -q -- crds > deploy/crds/sealedsecrets.bitnami.com.yaml`"
        );
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/crds/sealbox.dev.yaml"
        );
        let checked_in = std::fs::read_to_string(path).expect("deploy/crds file exists");
        assert!(
            checked_in == render_group(Format::Yaml, Group::Sealbox).unwrap(),
            "{path} is stale: regenerate it with `cargo run -q -- crds --group sealbox.dev > deploy/crds/sealbox.dev.yaml`"
        );
    }
}
