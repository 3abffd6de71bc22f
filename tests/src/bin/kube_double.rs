//! `sealbox-kube-double`: serves the Kubernetes API double standalone (benchmarks, manual
//! runs, a controller process started by hand). Faults are driven over HTTP:
//! `POST /__double/faults {"verb":"patch","path":"/secrets","status":503,"count":2}`,
//! `POST /__double/latency?ms=50`, `/__double/drop-watches`, `/__double/gone-next-watch`,
//! `/__double/compact`, `/__double/clear-faults`, `GET /__double/stats`.

use anyhow::Context;
use clap::Parser;
use sealbox_tests::apiserver::{ApiServer, Options};
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "In-memory Kubernetes API double on 127.0.0.1")]
struct Args {
    /// Port on 127.0.0.1 (0 = a free port, printed on stdout).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Write a kubeconfig pointing at the double here.
    #[arg(long)]
    kubeconfig_out: Option<PathBuf>,
    /// CRD manifests (YAML or JSON, multi-document allowed) to install at start.
    #[arg(long = "crd")]
    crds: Vec<PathBuf>,
    /// Watch history entries kept for resuming watches.
    #[arg(long, default_value_t = 50_000)]
    history: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let opts = Options {
        port: args.port,
        history: args.history,
        kubeconfig_out: args.kubeconfig_out.clone(),
        ..Options::default()
    };
    let double = ApiServer::start_with(opts)
        .await
        .context("starting the API double")?;
    for path in &args.crds {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading CRD file {}", path.display()))?;
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text)
            .with_context(|| format!("parsing CRD file {} as YAML", path.display()))?;
        for (i, doc) in docs.into_iter().enumerate().filter(|(_, d)| !d.is_null()) {
            double
                .install_crd(doc)
                .map_err(|e| anyhow::anyhow!("{}: document {i}: {}", path.display(), e.message))?;
        }
    }
    // A closed stdout (a parent that read only what it needed) must not stop the server.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening on {}", double.url());
    let _ = writeln!(out, "kubeconfig {}", double.kubeconfig_path().display());
    let _ = out.flush();
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
