//! `sealbox external render ES.yaml --store STORE.yaml`: the Secret an ExternalSecret
//! would produce, computed exactly as the controller does (same planner, same provider
//! code), offline against the fake provider or against a live AWS / Vault store. Template
//! mistakes (a key with `-` used as `{{ .my-key }}`, a missing property, a bad function)
//! show here, with the key and template named, before they reach a cluster (ESO #3210).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use base64::Engine as _;
use sealbox_controller::api::external::{
    ClusterSecretStore, ExternalSecret, SecretStore, SecretStoreSpec,
};
use sealbox_controller::api::parse_documents;
use sealbox_controller::reconcile::external::data::{self, Answer, Read};
use sealbox_controller::reconcile::external::keys::DataMap;
use sealbox_controller::reconcile::external::plan::{self, Outcome, Policies};
use sealbox_controller::reconcile::external::store::{
    self as store_plan, NoTokens, ProviderOptions, StoreKind,
};
use sealbox_controller::reconcile::external::template::TemplateSources;
use sealbox_providers::vault::VaultAuth;
use sealbox_providers::{LayerConfig, Metrics, RequestLayer, StoreClient, StoreConfig};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::exit::{Code, fail};

/// `sealbox external`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Print the Secret an ExternalSecret would produce (fake provider offline, or a live
    /// AWS Secrets Manager / Vault store).
    Render(RenderArgs),
}

/// `sealbox external render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The ExternalSecret manifest (YAML or JSON; one ExternalSecret).
    pub external_secret: PathBuf,
    /// SecretStore / ClusterSecretStore manifests the ExternalSecret reads from
    /// (repeatable; several documents per file allowed).
    #[arg(long = "store", required = true)]
    pub stores: Vec<PathBuf>,
    /// Secret and ConfigMap manifests: credentials the stores reference and
    /// `templateFrom` sources (repeatable).
    #[arg(long = "resource")]
    pub resources: Vec<PathBuf>,
    /// Namespace of the ExternalSecret when its manifest has none.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Use this Vault token instead of the store's auth (e.g. from `vault login`).
    #[arg(long, env = "VAULT_TOKEN", hide_env_values = true)]
    pub vault_token: Option<String>,
    /// Secrets Manager endpoint (else AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL).
    #[arg(long)]
    pub aws_endpoint_url: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "yaml")]
    pub output: Format,
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

fn read_docs(path: &std::path::Path) -> anyhow::Result<Vec<Value>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(Code::InputUnreadable, format!("{}: {e}", path.display())))?;
    let docs = parse_documents(&path.display().to_string(), &text)
        .map_err(|e| fail(Code::MalformedInput, e.to_string()))?;
    Ok(docs.into_iter().map(|d| d.value).collect())
}

fn decode<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
    what: &str,
    value: Value,
) -> anyhow::Result<T> {
    serde_json::from_value(value).map_err(|e| {
        fail(
            Code::MalformedInput,
            format!("{}: not a valid {what}: {e}", path.display()),
        )
    })
}

struct Stores {
    namespaced: BTreeMap<String, SecretStoreSpec>,
    cluster: BTreeMap<String, SecretStoreSpec>,
}

/// Run `sealbox external`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let Sub::Render(args) = args.command;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let secret = runtime.block_on(render(&args))?;
    let text = match args.output {
        Format::Yaml => serde_saphyr::to_string(&secret).context("rendering YAML")?,
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&secret)?),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing to stdout")
}

/// Compute the Secret.
pub async fn render(args: &RenderArgs) -> anyhow::Result<Value> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let es_docs = read_docs(&args.external_secret)?;
    let es_value = es_docs
        .into_iter()
        .find(|d| d["kind"] == "ExternalSecret")
        .ok_or_else(|| {
            fail(
                Code::WrongKind,
                format!(
                    "{}: no ExternalSecret document",
                    args.external_secret.display()
                ),
            )
        })?;
    let mut es: ExternalSecret = decode(&args.external_secret, "ExternalSecret", es_value)?;
    let namespace = es
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| args.namespace.clone());
    es.metadata.namespace = Some(namespace.clone());
    let name = es.metadata.name.clone().unwrap_or_default();

    let mut stores = Stores {
        namespaced: BTreeMap::new(),
        cluster: BTreeMap::new(),
    };
    for path in &args.stores {
        for doc in read_docs(path)? {
            let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
            match kind.as_str() {
                "SecretStore" => {
                    let s: SecretStore = decode(path, "SecretStore", doc)?;
                    stores
                        .namespaced
                        .insert(s.metadata.name.clone().unwrap_or_default(), s.spec);
                }
                "ClusterSecretStore" => {
                    let s: ClusterSecretStore = decode(path, "ClusterSecretStore", doc)?;
                    stores
                        .cluster
                        .insert(s.metadata.name.clone().unwrap_or_default(), s.spec.into());
                }
                other => {
                    return Err(fail(
                        Code::WrongKind,
                        format!(
                            "{}: expected SecretStore or ClusterSecretStore, found kind {other:?}",
                            path.display()
                        ),
                    ));
                }
            }
        }
    }
    let mut secrets: BTreeMap<(String, String), DataMap> = BTreeMap::new();
    let mut config_maps: BTreeMap<(String, String), BTreeMap<String, String>> = BTreeMap::new();
    for path in &args.resources {
        for doc in read_docs(path)? {
            let ns = doc["metadata"]["namespace"]
                .as_str()
                .unwrap_or(&namespace)
                .to_owned();
            let n = doc["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            match doc["kind"].as_str() {
                Some("Secret") => {
                    let s: k8s_openapi::api::core::v1::Secret = decode(path, "Secret", doc)?;
                    let mut data: DataMap = s
                        .data
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, v.0))
                        .collect();
                    for (k, v) in s.string_data.unwrap_or_default() {
                        data.insert(k, v.into_bytes());
                    }
                    secrets.insert((ns, n), data);
                }
                Some("ConfigMap") => {
                    let c: k8s_openapi::api::core::v1::ConfigMap = decode(path, "ConfigMap", doc)?;
                    config_maps.insert((ns, n), c.data.unwrap_or_default());
                }
                other => {
                    return Err(fail(
                        Code::WrongKind,
                        format!(
                            "{}: --resource takes Secrets and ConfigMaps, found kind {other:?}",
                            path.display()
                        ),
                    ));
                }
            }
        }
    }

    let policies = Policies::of(&es).map_err(|e| {
        fail(
            Code::MalformedInput,
            format!("ExternalSecret {namespace}/{name}: {e}"),
        )
    })?;
    let requests = data::requests(&es.spec).map_err(|e| {
        fail(
            Code::MalformedInput,
            format!("ExternalSecret {namespace}/{name}: {e}"),
        )
    })?;
    let layer = RequestLayer::new(LayerConfig::default(), Metrics::default());
    let options = ProviderOptions {
        aws_endpoint_url: args.aws_endpoint_url.clone(),
        aws_batch_window: None,
    };
    let mut clients: BTreeMap<(bool, String), StoreClient> = BTreeMap::new();
    for request in &requests {
        let key = (request.store.is_cluster(), request.store.name.clone());
        if clients.contains_key(&key) {
            continue;
        }
        let (kind, spec) = if request.store.is_cluster() {
            (
                StoreKind::ClusterSecretStore,
                stores.cluster.get(&request.store.name),
            )
        } else {
            (
                StoreKind::SecretStore,
                stores.namespaced.get(&request.store.name),
            )
        };
        let spec = spec.ok_or_else(|| {
            fail(
                Code::InputUnreadable,
                format!(
                    "{} {:?} is not in any --store file",
                    kind.as_str(),
                    request.store.name
                ),
            )
        })?;
        let store_ns = (kind == StoreKind::SecretStore).then_some(namespace.as_str());
        let config = build_config(
            spec,
            kind,
            store_ns,
            &namespace,
            &secrets,
            &options,
            args.vault_token.as_deref(),
        )?;
        let client = StoreClient::connect(
            format!("{}/{}", kind.as_str(), request.store.name),
            config,
            layer.clone(),
        )
        .await
        .map_err(|e| {
            fail(
                Code::Store,
                format!("{} {:?}: {e}", kind.as_str(), request.store.name),
            )
        })?;
        clients.insert(key, client);
    }
    let mut answers = Vec::new();
    for request in requests {
        let client = &clients[&(request.store.is_cluster(), request.store.name.clone())];
        let answer = match &request.read {
            Read::Get(r) => client.get(r).await.map(Answer::Value),
            Read::Extract(r) => client.get_map(r).await.map(Answer::Map),
            Read::Find(f) => client.find(f).await.map(Answer::Map),
        };
        answers.push((request, answer));
    }
    let deletion = sealbox_controller::api::external::external_secret::Target::deletion_policy(
        es.spec.target.as_ref(),
    )
    .to_owned();
    let assembled = data::assemble(&es.spec, &deletion, answers).map_err(|e| {
        fail(
            Code::Store,
            format!(
                "ExternalSecret {namespace}/{name}: {}: {e}",
                plan::MSG_ERROR_GET_DATA
            ),
        )
    })?;
    for event in &assembled.events {
        eprintln!("sealbox: warning: {}", event.note);
    }
    let mut sources = TemplateSources::default();
    for ((ns, n), data) in &config_maps {
        if *ns == namespace {
            sources.config_maps.insert(n.clone(), data.clone());
        }
    }
    for ((ns, n), data) in &secrets {
        if *ns == namespace {
            sources.secrets.insert(n.clone(), data.clone());
        }
    }
    match plan::outcome(&es, &policies, None, &assembled.data, &sources) {
        Outcome::Write(desired) => Ok(secret_json(&desired.secret)),
        Outcome::Failed { message, error } => {
            let code = if message == plan::MSG_ERROR_UPDATE {
                Code::Template
            } else {
                Code::Store
            };
            Err(fail(
                code,
                format!("ExternalSecret {namespace}/{name}: {message}: {error}"),
            ))
        }
        Outcome::Delete { .. } => Err(fail(
            Code::Store,
            format!(
                "ExternalSecret {namespace}/{name}: the store returned no data; deletionPolicy Delete would delete the Secret"
            ),
        )),
        Outcome::Retained => Err(fail(
            Code::Store,
            format!(
                "ExternalSecret {namespace}/{name}: the store returned no data; deletionPolicy Retain would keep the existing Secret"
            ),
        )),
        Outcome::Missing => Err(fail(
            Code::Store,
            format!(
                "ExternalSecret {namespace}/{name}: creationPolicy Merge never creates a Secret; there is nothing to merge into offline"
            ),
        )),
        Outcome::Nothing => Err(fail(
            Code::Store,
            format!("ExternalSecret {namespace}/{name}: creationPolicy None writes no Secret"),
        )),
    }
}

fn build_config(
    spec: &SecretStoreSpec,
    kind: StoreKind,
    store_ns: Option<&str>,
    es_ns: &str,
    secrets: &BTreeMap<(String, String), DataMap>,
    options: &ProviderOptions,
    vault_token: Option<&str>,
) -> anyhow::Result<StoreConfig> {
    let bad = |e: store_plan::StoreError| fail(Code::Store, e.to_string());
    let mut spec = spec.clone();
    if let (Some(token), Some(vault)) = (vault_token, spec.provider.vault.as_mut()) {
        // The token replaces whatever auth the store names.
        vault.auth = None;
        let mut config = match store_plan::config(
            &SecretStoreSpec {
                provider: sealbox_controller::api::external::SecretStoreProvider {
                    vault: Some(sealbox_controller::api::external::store::VaultProvider {
                        auth: Some(sealbox_controller::api::external::store::VaultAuth {
                            token_secret_ref: Some(Default::default()),
                            ..Default::default()
                        }),
                        ..vault.clone()
                    }),
                    ..Default::default()
                },
                ..spec.clone()
            },
            kind,
            store_ns,
            es_ns,
            &BTreeMap::from([(
                "spec.provider.vault.auth.tokenSecretRef".to_owned(),
                SecretString::from(token.to_owned()),
            )]),
            &NoTokens,
            options,
        )
        .map_err(bad)?
        {
            StoreConfig::Vault(c) => c,
            _ => unreachable!("a vault spec builds a vault config"),
        };
        config.auth = VaultAuth::Token(SecretString::from(token.to_owned()));
        return Ok(StoreConfig::Vault(config));
    }
    let refs = store_plan::credential_refs(&spec, kind, store_ns, es_ns).map_err(bad)?;
    let mut credentials = BTreeMap::new();
    for (field, r) in refs {
        let data = secrets
            .get(&(r.namespace.clone(), r.name.clone()))
            .ok_or_else(|| {
                fail(
                    Code::InputUnreadable,
                    format!(
                        "{field}: Secret {}/{} is not in any --resource file",
                        r.namespace, r.name
                    ),
                )
            })?;
        let value = data.get(&r.key).ok_or_else(|| {
            fail(
                Code::InputUnreadable,
                format!(
                    "{field}: Secret {}/{} has no key {:?}",
                    r.namespace, r.name, r.key
                ),
            )
        })?;
        credentials.insert(
            field,
            SecretString::from(String::from_utf8_lossy(value).into_owned()),
        );
    }
    store_plan::config(
        &spec,
        kind,
        store_ns,
        es_ns,
        &credentials,
        &NoTokens,
        options,
    )
    .map_err(bad)
}

/// The Secret as a manifest (data base64, as `kubectl get -o yaml` shows it).
fn secret_json(secret: &k8s_openapi::api::core::v1::Secret) -> Value {
    let data: serde_json::Map<String, Value> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.clone(),
                json!(base64::engine::general_purpose::STANDARD.encode(&v.0)),
            )
        })
        .collect();
    let mut out = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret.metadata.name,
            "namespace": secret.metadata.namespace,
            "labels": secret.metadata.labels,
            "annotations": secret.metadata.annotations,
        },
        "type": secret.type_.clone().unwrap_or_else(|| "Opaque".into()),
        "data": data,
    });
    if secret.immutable == Some(true) {
        out["immutable"] = json!(true);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::exit_code_of;

    const STORE: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: fake}
spec:
  provider:
    fake:
      data:
      - {key: app/db, value: '{"user":"admin","password":"p@ss-hidden"}'}
"#;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn args(dir: &tempfile::TempDir, es: &str) -> RenderArgs {
        RenderArgs {
            external_secret: write(dir, "es.yaml", es),
            stores: vec![write(dir, "store.yaml", STORE)],
            resources: vec![],
            namespace: "app".into(),
            vault_token: None,
            aws_endpoint_url: None,
            output: Format::Yaml,
        }
    }

    fn run(args: &RenderArgs) -> anyhow::Result<Value> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(render(args))
    }

    #[test]
    fn renders_the_secret_the_controller_would_write() {
        let dir = tempfile::tempdir().unwrap();
        let a = args(
            &dir,
            r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db}
spec:
  secretStoreRef: {name: fake}
  target:
    name: db-creds
    template:
      type: kubernetes.io/basic-auth
      data:
        username: "{{ .user }}"
        password: "{{ .password }}"
  dataFrom:
  - extract: {key: app/db}
"#,
        );
        let secret = run(&a).unwrap();
        assert_eq!(secret["metadata"]["name"], "db-creds");
        assert_eq!(secret["metadata"]["namespace"], "app");
        assert_eq!(secret["type"], "kubernetes.io/basic-auth");
        assert_eq!(secret["data"]["username"], "YWRtaW4=");
        assert_eq!(
            secret["metadata"]["labels"]["reconcile.external-secrets.io/managed"],
            "true"
        );
        assert!(
            secret["metadata"]["annotations"]["reconcile.external-secrets.io/data-hash"]
                .is_string()
        );
    }

    #[test]
    fn template_mistakes_fail_with_code_17_naming_the_key_not_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let a = args(
            &dir,
            r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: app}
spec:
  secretStoreRef: {name: fake}
  target:
    template:
      data:
        dsn: "{{ .db-user }}"
  dataFrom:
  - extract: {key: app/db}
"#,
        );
        let err = run(&a).unwrap_err();
        assert_eq!(exit_code_of(&err), Code::Template.as_u8());
        let text = format!("{err:#}");
        assert!(text.contains("dsn"), "{text}");
        assert!(!text.contains("p@ss-hidden"), "{text}");
    }

    #[test]
    fn missing_store_remote_key_and_wrong_kind_have_their_codes() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(
            &dir,
            "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec:\n  secretStoreRef: {name: other}\n  data:\n  - {secretKey: k, remoteRef: {key: app/db}}\n",
        );
        let err = run(&a).unwrap_err();
        assert_eq!(exit_code_of(&err), Code::InputUnreadable.as_u8());
        assert!(format!("{err:#}").contains("\"other\" is not in any --store file"));
        a.external_secret = write(
            &dir,
            "es2.yaml",
            "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec:\n  secretStoreRef: {name: fake}\n  data:\n  - {secretKey: k, remoteRef: {key: nope}}\n",
        );
        let err = run(&a).unwrap_err();
        assert_eq!(exit_code_of(&err), Code::Store.as_u8());
        assert!(format!("{err:#}").contains("could not get secret data from provider"));
        a.external_secret = write(
            &dir,
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        );
        assert_eq!(exit_code_of(&run(&a).unwrap_err()), Code::WrongKind.as_u8());
    }

    /// The shared moto server (scripts/test exports it; else started by the peer script).
    fn moto_url() -> String {
        if let Ok(url) = std::env::var("SEALBOX_TEST_MOTO_URL")
            && !url.is_empty()
        {
            return url;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/peers/moto.sh");
        let out = std::process::Command::new("bash")
            .args([script, "start"])
            .output()
            .expect("run scripts/peers/moto.sh (scripts/test installs the peers)");
        assert!(
            out.status.success(),
            "moto could not be started: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    #[test]
    fn renders_from_a_live_aws_store_with_credentials_from_a_resource_file() {
        use sealbox_providers::aws::{AwsAuth, AwsConfig};
        use sealbox_providers::{PushRef, SecretValue};
        let url = moto_url();
        let key = format!(
            "cli-render/{}-{}",
            std::process::id(),
            rand::random::<u32>()
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let seeder = StoreClient::connect(
                "seed",
                StoreConfig::Aws(AwsConfig {
                    region: "us-east-1".into(),
                    auth: AwsAuth::Static {
                        access_key_id: "test".into(),
                        secret_access_key: "test".into(),
                        session_token: None,
                    },
                    endpoint_url: Some(url.clone()),
                    ..AwsConfig::default()
                }),
                RequestLayer::new(LayerConfig::default(), Metrics::default()),
            )
            .await
            .unwrap();
            let metadata = json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata", "spec": {"secretPushFormat": "string"}});
            seeder
                .push(
                    &PushRef::key(key.clone()),
                    &SecretValue::from_text(r#"{"password":"live-pw"}"#.into()),
                    Some(&metadata),
                )
                .await
                .unwrap();
        });
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(
            &dir,
            &format!(
                "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: live}}\nspec:\n  secretStoreRef: {{name: aws}}\n  data:\n  - {{secretKey: pw, remoteRef: {{key: {key}, property: password}}}}\n"
            ),
        );
        a.stores = vec![write(
            &dir,
            "aws.yaml",
            "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws}\nspec:\n  provider:\n    aws:\n      service: SecretsManager\n      region: us-east-1\n      auth:\n        secretRef:\n          accessKeyIDSecretRef: {name: creds, key: id}\n          secretAccessKeySecretRef: {name: creds, key: secret}\n",
        )];
        a.aws_endpoint_url = Some(url);
        // Without the credentials Secret: a clear error naming it.
        let err = run(&a).unwrap_err();
        assert_eq!(exit_code_of(&err), Code::InputUnreadable.as_u8());
        assert!(format!("{err:#}").contains("Secret app/creds is not in any --resource file"));
        a.resources = vec![write(
            &dir,
            "creds.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {id: test, secret: test}\n",
        )];
        let secret = run(&a).unwrap();
        assert_eq!(secret["data"]["pw"], "bGl2ZS1wdw==");
    }
}
