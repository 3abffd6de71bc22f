//! End-to-end tests of the `sealbox` binary (one test binary for the whole CLI).
//!
//! * `trycmd_cases` — golden help texts and every bad-input error with its exit code
//!   (`cli/tests/cmd/*.trycmd`);
//! * `unseal_fixtures` — every manifest of the Sealed Secrets fixture set (made by upstream
//!   Go, npm and Python) unseals to `expected.json`, every negative is refused;
//! * `seal_interop` — what `sealbox seal` writes is opened by an independent implementation
//!   (`tests/tools/ss_open.py`: pyca/cryptography, and the openssl CLI for the RSA step);
//! * `seal_behaviour`, `keys` — kubeseal's flags and output shape, the local keyring;
//! * `flux` — `keys export-age --flux` against the real sops and age; `gitops_deploy` —
//!   the `deploy/argocd` and `deploy/flux` examples built by kubectl kustomize and exercised;
//! * `sops_fixtures` — every SOPS fixture (made by real sops 3.11) through sealbox started as
//!   `sops`, with sops' exit codes; `sops_cli` — the SOPS commands, identity and
//!   `.sops.yaml` discovery, edit/exec safety, bad input, interop with the real sops;
//!   `sops_compat` — sops' command line (legacy flags, helm-secrets' calls);
//! * `crash_safety` — `kill -9` at every disk write of every command that writes a file
//!   (old or new content, no plaintext or temp file left), signals during `edit`;
//! * `render` — the GitOps hooks (`render`, `krm`/`ksops`) against real sops, kubectl
//!   kustomize and kpt.

mod crash_safety;
mod flux;
mod gitops_deploy;
mod keys;
mod render;
mod seal_behaviour;
mod seal_interop;
mod sops_cli;
mod sops_compat;
mod sops_fixtures;
mod sops_support;
mod support;
mod trycmd_cases;
mod unseal_fixtures;
