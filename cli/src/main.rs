//! `sealbox` — seal, encrypt and sync Kubernetes secrets.
//!
//! One binary, three jobs users know from three tools:
//! * `seal` / `unseal` / `keys` — Bitnami Sealed Secrets (kubeseal-compatible),
//! * `encrypt` / `decrypt` / `edit` / ... — SOPS (sops-compatible files and exit codes),
//! * `controller` — the in-cluster controller for SealedSecrets and ExternalSecrets.
//!
//! Each subcommand lives in its own module under `commands/`; this file only parses the
//! command line, sets up logging and maps errors to exit codes (see `exit.rs`).

mod commands;
mod exit;
mod keyring_dir;
mod reaper;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit::{Code, exit_code_of};

/// Global options shared by every subcommand.
#[derive(Debug, clap::Args)]
pub struct Global {
    /// Directory of the local keyring (sealing keys and the age identity).
    #[arg(long, global = true, env = "SEALBOX_KEYRING", value_name = "DIR")]
    pub keyring: Option<std::path::PathBuf>,
}

#[derive(Debug, Parser)]
#[command(
    name = "sealbox",
    version,
    about = "Seal, encrypt and sync Kubernetes secrets (kubeseal-, sops- and ESO-compatible)",
    after_long_help = exit_code_help(),
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    // Sealed Secrets (kubeseal-compatible). Help texts come from each `Args` struct, so
    // their long descriptions are kept (a doc comment here would replace them).
    Seal(commands::seal::Args),
    Unseal(commands::unseal::Args),
    Keys(commands::keys::Args),
    Quickstart(commands::quickstart::Args),
    // SOPS (sops-compatible files, flags and exit codes): encrypt, decrypt, edit, ...
    #[command(flatten)]
    Sops(commands::sops::Command),
    // The in-cluster controller and its CRDs.
    Controller(commands::controller::Args),
    /// Print the CustomResourceDefinitions (YAML) generated from the Rust types.
    Crds(commands::crds::Args),
    /// External Secrets: render the Secret an ExternalSecret would produce.
    External(commands::external::Args),
    // GitOps hooks: Argo CD plugin / Helm post-renderer, and the kustomize generator.
    Render(commands::render::Args),
    Krm(commands::render::krm::Args),
}

fn exit_code_help() -> String {
    let mut s = String::from("Exit codes:\n  0  success\n");
    for (code, what) in Code::TABLE {
        s.push_str(&format!("  {:<3}{what}\n", code.as_u8()));
    }
    s.push_str(
        "  SOPS commands (encrypt, decrypt, edit, ...) use sops' own codes, e.g. 51 MAC mismatch,\n  128 no key could decrypt the data key, 1 file not encrypted.\n",
    );
    s
}

fn main() -> ExitCode {
    // Started as `sops` (a symlink or copy): sops' own command line.
    if let Some(code) = commands::sops::compat::main_if_invoked_as_sops() {
        return code;
    }
    // Started as `ksops` / `sealbox-krm`: kustomize generator mode (KRM function or plugin).
    if let Some(code) = commands::render::krm::main_if_invoked_as_generator() {
        return code;
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sealbox: {err:#}");
            ExitCode::from(exit_code_of(&err))
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let global = cli.global;
    match cli.command {
        Command::Seal(args) => commands::seal::run(&global, args),
        Command::Unseal(args) => commands::unseal::run(&global, args),
        Command::Keys(args) => commands::keys::run(&global, args),
        Command::Quickstart(args) => commands::quickstart::run(&global, args),
        Command::Sops(command) => commands::sops::run(&global, command),
        Command::Controller(args) => commands::controller::run(&global, args),
        Command::Crds(args) => commands::crds::run(args),
        Command::External(args) => commands::external::run(args),
        Command::Render(args) => commands::render::run(&global, args),
        Command::Krm(args) => commands::render::krm::run(&global, args),
    }
}
