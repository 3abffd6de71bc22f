//! The cluster-facing flags of `sealbox seal`, as kubeseal's: `--fetch-cert`, `--validate`,
//! `--re-encrypt`, `--controller-name`, `--controller-namespace`, `--kubeconfig`,
//! `--context`.
//!
//! The controller is reached through the API server's service proxy,
//! `/api/v1/namespaces/<ns>/services/http:<name>:<port-name>/proxy/<path>`, the port name
//! read from the Service's first port — exactly what kubeseal does — so the user needs only
//! RBAC to that proxy, not network access to the controller.

use std::path::PathBuf;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Service;
use kube::api::Api;

use crate::exit::{Code, fail};

/// Flags that talk to the controller in a cluster.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// Print the controller's sealing certificate (from --cert if given) and exit.
    #[arg(long)]
    pub fetch_cert: bool,
    /// Check that the input SealedSecret(s) can be opened by the controller (POST /v1/verify).
    #[arg(long)]
    pub validate: bool,
    /// Re-encrypt the input SealedSecret(s) with the controller's newest key (POST /v1/rotate).
    #[arg(long, visible_alias = "rotate")]
    pub re_encrypt: bool,
    /// Name of the controller's Service.
    #[arg(
        long,
        env = "SEALED_SECRETS_CONTROLLER_NAME",
        default_value = "sealed-secrets-controller"
    )]
    pub controller_name: String,
    /// Namespace of the controller's Service.
    #[arg(
        long,
        env = "SEALED_SECRETS_CONTROLLER_NAMESPACE",
        default_value = "kube-system"
    )]
    pub controller_namespace: String,
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

impl ClusterArgs {
    /// Whether any cluster action was asked for.
    pub fn wants_cluster(&self) -> bool {
        self.fetch_cert || self.validate || self.re_encrypt
    }
}

/// A connection to the controller through the API server.
pub struct ControllerProxy {
    client: kube::Client,
    base: String,
    runtime: tokio::runtime::Runtime,
}

impl ControllerProxy {
    /// Connect: build a client from the kubeconfig (or in-cluster) and read the Service's
    /// first port name.
    pub fn connect(args: &ClusterArgs) -> anyhow::Result<ControllerProxy> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let (client, base) = runtime.block_on(async {
            let client = super::controller::client(args.kubeconfig.as_ref(), args.context.as_deref())
                .await
                .map_err(|e| fail(Code::Cluster, format!("cannot reach the cluster: {e:#}")))?;
            let services: Api<Service> = Api::namespaced(client.clone(), &args.controller_namespace);
            let service = services.get(&args.controller_name).await.map_err(|e| {
                fail(
                    Code::Cluster,
                    format!(
                        "cannot get the controller Service {}/{} (use --controller-name/--controller-namespace): {e}",
                        args.controller_namespace, args.controller_name
                    ),
                )
            })?;
            let port = service
                .spec
                .and_then(|s| s.ports)
                .and_then(|p| p.into_iter().next())
                .and_then(|p| p.name)
                .unwrap_or_default();
            let base = format!(
                "/api/v1/namespaces/{}/services/http:{}:{}/proxy",
                args.controller_namespace, args.controller_name, port
            );
            Ok::<_, anyhow::Error>((client, base))
        })?;
        Ok(ControllerProxy {
            client,
            base,
            runtime,
        })
    }

    fn call(&self, method: &str, path: &str, body: Vec<u8>) -> Result<String, kube::Error> {
        let request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .expect("valid request");
        self.runtime.block_on(self.client.request_text(request))
    }

    /// `GET /v1/cert.pem`.
    pub fn cert(&self) -> anyhow::Result<String> {
        self.call("GET", "/v1/cert.pem", Vec::new())
            .map_err(|e| fail(Code::Cluster, format!("cannot fetch the certificate: {e}")))
    }

    /// `POST /v1/verify`: `Ok(true)` if the controller can open it, `Ok(false)` on 409.
    pub fn verify(&self, sealed_json: &str) -> anyhow::Result<bool> {
        match self.call("POST", "/v1/verify", sealed_json.as_bytes().to_vec()) {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(fail(Code::Cluster, format!("cannot validate: {e}"))),
        }
    }

    /// `POST /v1/rotate`: the re-encrypted SealedSecret (JSON).
    pub fn rotate(&self, sealed_json: &str) -> anyhow::Result<String> {
        self.call("POST", "/v1/rotate", sealed_json.as_bytes().to_vec())
            .map_err(|e| fail(Code::Cluster, format!("cannot re-encrypt: {e}")))
    }
}

/// Run the cluster action `sealbox seal` was asked for (`--fetch-cert`, `--validate`,
/// `--re-encrypt`) on its input/output flags.
pub fn run(args: &super::seal::Args) -> anyhow::Result<()> {
    use super::seal::output::{Format, render};
    use super::seal::{read_input, write_output};
    use sealbox_controller::api::{expand_lists, parse_documents};

    let cluster = &args.cluster;
    if cluster.fetch_cert {
        let pem = match args.cert.as_deref().filter(|c| !c.is_empty()) {
            Some(location) => super::seal::cert::read_location(location)?,
            None => ControllerProxy::connect(cluster)?.cert()?,
        };
        return write_output(args.sealed_secret_file.as_deref(), pem.as_bytes());
    }
    let (source, text) = read_input(args.secret_file.as_deref())?;
    let documents = expand_lists(
        parse_documents(&source, &text).map_err(|e| fail(Code::MalformedInput, e.to_string()))?,
    );
    if documents.is_empty() {
        return Err(fail(
            Code::MalformedInput,
            format!("{source}: no SealedSecret found"),
        ));
    }
    for doc in &documents {
        let (api_version, kind) = doc.type_meta();
        if (api_version, kind) != ("bitnami.com/v1alpha1", "SealedSecret") {
            return Err(fail(
                Code::WrongKind,
                format!(
                    "{source}: {doc} is {api_version}/{kind}, expected a bitnami.com/v1alpha1 SealedSecret"
                ),
            ));
        }
    }
    let proxy = ControllerProxy::connect(cluster)?;
    if cluster.validate {
        for doc in &documents {
            if !proxy.verify(&doc.value.to_string())? {
                return Err(fail(
                    Code::CannotUnseal,
                    format!(
                        "unable to decrypt sealed secret: {}",
                        doc.name().unwrap_or("")
                    ),
                ));
            }
        }
        return Ok(());
    }
    // --re-encrypt
    let mut objects = Vec::new();
    for doc in &documents {
        let rotated = proxy.rotate(&doc.value.to_string())?;
        let mut value: serde_json::Value = serde_json::from_str(&rotated).map_err(|e| {
            fail(
                Code::Cluster,
                format!("the controller's answer is not JSON: {e}"),
            )
        })?;
        if let Some(meta) = value.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            for field in ["creationTimestamp", "deletionTimestamp", "generation"] {
                meta.remove(field);
            }
        }
        let sealed: sealbox_controller::api::SealedSecret =
            serde_json::from_value(value).map_err(|e| {
                fail(
                    Code::Cluster,
                    format!("the controller's answer is not a SealedSecret: {e}"),
                )
            })?;
        objects.push(super::seal::output::sealed_secret_value(&sealed));
    }
    let format = args
        .format
        .or_else(|| {
            args.sealed_secret_file
                .as_deref()
                .and_then(Format::from_file_name)
        })
        .unwrap_or(Format::Json);
    // kubeseal: with only -f, --re-encrypt rewrites the input file in place.
    let out = args
        .sealed_secret_file
        .as_deref()
        .or(args.secret_file.as_deref().filter(|p| p.as_os_str() != "-"));
    write_output(out, render(&objects, format).as_bytes())
}
