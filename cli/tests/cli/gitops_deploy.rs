//! The shipped GitOps examples, `deploy/argocd/` and `deploy/flux/`, checked without a
//! cluster: the real `kubectl kustomize` builds them, the Argo CD plugin's `generate`
//! command is run with the sidecar's environment (paths mapped to a temp dir) on a
//! repository of encrypted manifests, and the Flux rule's output is decrypted by the real
//! sops the way kustomize-controller does it. No real Argo CD or Flux runs here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::sops_support::{code, err, ok, run, sealbox, sops_real};

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: guestbook\ntype: Opaque\nstringData:\n  password: gitops-deploy-password\n";
const CONFIGMAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: blue\n";

/// What argocd-repo-server looks like in Argo CD's install.yaml, reduced to what the patch
/// relies on: the `copyutil` init container filling `var-files`, the `plugins` volume.
const REPO_SERVER: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: argocd-repo-server
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: argocd-repo-server}
  template:
    metadata:
      labels: {app.kubernetes.io/name: argocd-repo-server}
    spec:
      initContainers:
        - name: copyutil
          image: quay.io/argoproj/argocd:v3.1.0
          command: [/bin/cp, -n, /usr/local/bin/argocd, /var/run/argocd/argocd-cmp-server]
          volumeMounts:
            - {name: var-files, mountPath: /var/run/argocd}
      containers:
        - name: argocd-repo-server
          image: quay.io/argoproj/argocd:v3.1.0
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            - {name: plugins, mountPath: /home/argocd/cmp-server/plugins}
            - {name: var-files, mountPath: /var/run/argocd}
      volumes:
        - {name: var-files, emptyDir: {}}
        - {name: plugins, emptyDir: {}}
        - {name: tmp, emptyDir: {}}
";

fn deploy(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(rel)
}

fn docs(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .expect("stream parses")
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

fn kubectl_kustomize(dir: &Path) -> Vec<Value> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl runs");
    assert!(out.status.success(), "{}", err(&out));
    docs(&String::from_utf8(out.stdout).unwrap())
}

/// An Argo CD installation (the stand-in repo-server) with the sealbox component, built.
fn argocd_with_component() -> (Value, Value) {
    let dir = tempfile::tempdir().unwrap();
    let component = dir.path().join("sealbox");
    std::fs::create_dir(&component).unwrap();
    for f in [
        "kustomization.yaml",
        "plugin.yaml",
        "repo-server-sidecar.yaml",
    ] {
        std::fs::copy(deploy("argocd").join(f), component.join(f)).unwrap();
    }
    std::fs::write(dir.path().join("repo-server.yaml"), REPO_SERVER).unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources: [repo-server.yaml]\ncomponents: [sealbox]\n",
    )
    .unwrap();
    let objects = kubectl_kustomize(dir.path());
    assert_eq!(objects.len(), 2, "{objects:?}");
    let find = |kind: &str| objects.iter().find(|o| o["kind"] == kind).cloned().unwrap();
    (find("ConfigMap"), find("Deployment"))
}

fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

/// The volume mounted at the deepest mount point holding `path`.
fn mount_of<'a>(container: &'a Value, path: &str) -> &'a Value {
    container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            let at = m["mountPath"].as_str().unwrap();
            path == at || path.starts_with(&format!("{at}/"))
        })
        .max_by_key(|m| m["mountPath"].as_str().unwrap().len())
        .unwrap_or_else(|| panic!("nothing is mounted at {path}"))
}

fn env<'a>(container: &'a Value, name: &str) -> &'a str {
    named(&container["env"], name)["value"].as_str().unwrap()
}

#[test]
fn argocd_component_adds_the_sidecar_argo_cds_cmp_server_expects() {
    let (config_map, deployment) = argocd_with_component();
    let spec = &deployment["spec"]["template"]["spec"];
    let volumes = &spec["volumes"];
    let sidecar = named(&spec["containers"], "sealbox");
    // The repo-server itself is untouched.
    assert_eq!(
        named(&spec["containers"], "argocd-repo-server")["volumeMounts"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // argocd-cmp-server as entrypoint, user 999 (Argo CD's checklist).
    assert_eq!(
        sidecar["command"],
        serde_json::json!(["/var/run/argocd/argocd-cmp-server"])
    );
    assert_eq!(sidecar["securityContext"]["runAsUser"], 999);
    assert_eq!(sidecar["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        mount_of(sidecar, "/var/run/argocd/argocd-cmp-server")["name"],
        "var-files"
    );
    assert_eq!(
        mount_of(sidecar, "/home/argocd/cmp-server/plugins")["name"],
        "plugins"
    );
    // Its own /tmp, not the repo-server's.
    let tmp = mount_of(sidecar, "/tmp");
    assert_ne!(tmp["name"], "tmp");
    assert!(named(volumes, tmp["name"].as_str().unwrap())["emptyDir"].is_object());

    // plugin.yaml at the path argocd-cmp-server reads, from the generated ConfigMap.
    let config = mount_of(sidecar, "/home/argocd/cmp-server/config/plugin.yaml");
    assert_eq!(config["subPath"], "plugin.yaml");
    let cm_name = config_map["metadata"]["name"].as_str().unwrap();
    assert!(cm_name.starts_with("sealbox-cmp-plugin-"), "{cm_name}");
    assert_eq!(
        named(volumes, config["name"].as_str().unwrap())["configMap"]["name"],
        cm_name,
        "the volume follows the ConfigMap's hashed name"
    );
    let plugin_text = config_map["data"]["plugin.yaml"].as_str().unwrap();
    assert_eq!(
        plugin_text,
        std::fs::read_to_string(deploy("argocd/plugin.yaml")).unwrap()
    );
    let plugin: Value = serde_saphyr::from_str(plugin_text).unwrap();
    assert_eq!(plugin["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    assert_eq!(plugin["metadata"]["name"], "sealbox");
    assert_eq!(plugin["spec"]["version"], "v1");
    assert!(plugin["spec"]["generate"]["command"].is_array());

    // The age identity: a file inside a read-only mount of the optional Secret sealbox-age.
    let key_file = env(sidecar, "SOPS_AGE_KEY_FILE");
    let key_mount = mount_of(sidecar, key_file);
    assert_eq!(key_mount["readOnly"], true);
    let secret = &named(volumes, key_mount["name"].as_str().unwrap())["secret"];
    assert_eq!(secret["secretName"], "sealbox-age");
    assert_eq!(secret["optional"], true);
    assert_eq!(secret["defaultMode"], 0o444, "readable by user 999");
    assert_eq!(
        Path::new(key_file).file_name().unwrap(),
        "keys.txt",
        "the entry `kubectl create secret --from-file=keys.txt=…` makes"
    );
    // Only the sidecar sees the key.
    for c in spec["containers"]
        .as_array()
        .unwrap()
        .iter()
        .chain(spec["initContainers"].as_array().unwrap())
    {
        if c["name"] != "sealbox" {
            let mounts = c["volumeMounts"].as_array().cloned().unwrap_or_default();
            assert!(mounts.iter().all(|m| m["name"] != key_mount["name"]));
        }
    }

    // kustomize: the program of SEALBOX_KUSTOMIZE_COMMAND is where copy-kustomize puts it.
    let kustomize = env(sidecar, "SEALBOX_KUSTOMIZE_COMMAND")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let init = named(&spec["initContainers"], "copy-kustomize");
    let copied_to = init["command"].as_array().unwrap().last().unwrap();
    assert_eq!(copied_to, kustomize.as_str());
    assert_eq!(
        mount_of(init, &kustomize)["name"],
        mount_of(sidecar, &kustomize)["name"]
    );

    // Every mount names a volume of the pod.
    for c in spec["containers"]
        .as_array()
        .unwrap()
        .iter()
        .chain(spec["initContainers"].as_array().unwrap())
    {
        for m in c["volumeMounts"].as_array().cloned().unwrap_or_default() {
            named(volumes, m["name"].as_str().unwrap());
        }
    }
}

/// A Git checkout as the CMP server unpacks it: `apps/guestbook` (plain files) and
/// `apps/kustomized` (a kustomization), Secrets encrypted by sealbox to the keyring's
/// identity. Returns the directory holding `keys.txt`, what `sealbox keys export-age`
/// printed (the Secret `sealbox-age` as mounted), next to the checkout.
fn checkout(home: &Path, root: &Path) -> PathBuf {
    for app in ["guestbook", "kustomized"] {
        let dir = root.join("apps").join(app);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret.yaml");
        std::fs::write(&file, SECRET).unwrap();
        let mut cmd = sealbox(home);
        cmd.args(["encrypt", "--encrypted-regex", "^(data|stringData)$", "-i"])
            .arg(&file);
        ok(run(cmd));
        std::fs::write(dir.join("configmap.yaml"), CONFIGMAP).unwrap();
    }
    std::fs::write(
        root.join("apps/kustomized/kustomization.yaml"),
        "resources: [configmap.yaml, secret.yaml]\nnamePrefix: k-\n",
    )
    .unwrap();
    let mut export = sealbox(home);
    export.args(["keys", "export-age"]);
    let identity = ok(run(export));
    let key_dir = root.parent().unwrap().join("mounted-secret");
    std::fs::create_dir(&key_dir).unwrap();
    std::fs::write(key_dir.join("keys.txt"), identity).unwrap();
    key_dir
}

/// Run the plugin's `generate` command the way argocd-cmp-server does, in `app`, with the
/// sidecar's environment; container paths are mapped into `sandbox`.
fn generate(deployment: &Value, sandbox: &Path, key_dir: &Path, app: &str) -> Output {
    let plugin: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(deploy("argocd/plugin.yaml")).unwrap())
            .unwrap();
    let argv: Vec<String> = plugin["spec"]["generate"]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(argv[0], "/usr/local/bin/sealbox", "the binary of the image");
    // kustomize as copied from the Argo CD image: here a shim over `kubectl kustomize`.
    let tools = sandbox.join("custom-tools");
    std::fs::create_dir_all(&tools).unwrap();
    let shim = tools.join("kustomize");
    std::fs::write(
        &shim,
        "#!/bin/sh\n[ \"$1\" = build ] && shift\nexec kubectl kustomize \"$@\"\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let tmp = sandbox.join("cmp-tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let map = |v: &str| {
        for (from, to) in [
            ("/sealbox-age", key_dir),
            ("/custom-tools", tools.as_path()),
            ("/tmp", tmp.as_path()),
        ] {
            if let Some(rest) = v.strip_prefix(from) {
                return format!("{}{rest}", to.display());
            }
        }
        v.to_owned()
    };
    let sidecar = named(
        &deployment["spec"]["template"]["spec"]["containers"],
        "sealbox",
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sealbox"));
    cmd.args(&argv[1..])
        .current_dir(sandbox.join("checkout").join(app))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        // The build environment Argo CD sets for every plugin command.
        .env("ARGOCD_APP_NAME", "guestbook")
        .env("ARGOCD_APP_NAMESPACE", "guestbook")
        .env("ARGOCD_APP_SOURCE_PATH", app);
    for e in sidecar["env"].as_array().unwrap() {
        cmd.env(
            e["name"].as_str().unwrap(),
            map(e["value"].as_str().unwrap()),
        );
    }
    cmd.output().expect("sealbox runs")
}

fn sops_d(home: &Path, key_file: &Path, file: &Path) -> Vec<Value> {
    let mut cmd = sops_real(home);
    cmd.env("SOPS_AGE_KEY_FILE", key_file).arg("-d").arg(file);
    docs(&String::from_utf8(ok(run(cmd))).unwrap())
}

#[test]
fn the_plugins_generate_command_renders_in_the_sidecars_environment() {
    let (_, deployment) = argocd_with_component();
    let home = tempfile::tempdir().unwrap();
    let sandbox = tempfile::tempdir().unwrap();
    let root = sandbox.path().join("checkout");
    let key_dir = checkout(home.path(), &root);
    let key_file = key_dir.join("keys.txt");

    // Plain directory: files in path order, the Secret as the real sops decrypts it.
    let out = generate(&deployment, sandbox.path(), &key_dir, "apps/guestbook");
    let stdout = String::from_utf8(ok(out.clone())).unwrap();
    let mut want = docs(CONFIGMAP);
    want.extend(sops_d(
        home.path(),
        &key_file,
        &root.join("apps/guestbook/secret.yaml"),
    ));
    assert_eq!(docs(&stdout), want);
    assert!(!err(&out).contains("gitops-deploy-password"));

    // Kustomization: built with the sidecar's kustomize command, then decrypted.
    let out = generate(&deployment, sandbox.path(), &key_dir, "apps/kustomized");
    let got = docs(&String::from_utf8(ok(out)).unwrap());
    let secret = got.iter().find(|d| d["kind"] == "Secret").unwrap();
    assert_eq!(secret["metadata"]["name"], "k-db");
    let plain = &sops_d(
        home.path(),
        &key_file,
        &root.join("apps/kustomized/secret.yaml"),
    )[0];
    assert_eq!(secret["stringData"], plain["stringData"]);
    assert!(secret.get("sops").is_none());

    // The Secret sealbox-age is optional in the pod: without it, a clear failure and
    // nothing on stdout (an empty success would let a pruning sync delete the app).
    std::fs::remove_file(&key_file).unwrap();
    let out = generate(&deployment, sandbox.path(), &key_dir, "apps/guestbook");
    assert_ne!(code(&out), 0);
    assert!(out.stdout.is_empty());
    let msg = err(&out);
    assert!(msg.contains("secret.yaml"), "{msg}");
    assert!(
        msg.contains("SOPS_AGE_KEY_FILE") && msg.contains("no age identity found"),
        "{msg}"
    );
}

#[test]
fn flux_example_builds_and_its_rule_makes_files_flux_decrypts() {
    // The Flux Kustomization, built as `kubectl apply -k deploy/flux` would send it.
    let objects = kubectl_kustomize(&deploy("flux"));
    assert_eq!(objects.len(), 1);
    let ks = &objects[0];
    assert_eq!(ks["apiVersion"], "kustomize.toolkit.fluxcd.io/v1");
    assert_eq!(ks["kind"], "Kustomization");
    assert_eq!(ks["spec"]["decryption"]["provider"], "sops");

    // `sealbox keys export-age --flux` makes exactly the Secret it names.
    let home = tempfile::tempdir().unwrap();
    let repo = home.path().join("repo");
    std::fs::create_dir_all(repo.join("apps")).unwrap();
    let mut first = sealbox(home.path());
    first.args(["keys", "init", "--key-size", "2048"]);
    ok(run(first));
    let mut export = sealbox(home.path());
    export.args(["keys", "export-age", "--flux"]);
    let secret: Value =
        serde_saphyr::from_str(&String::from_utf8(ok(run(export))).unwrap()).unwrap();
    assert_eq!(
        secret["metadata"]["name"],
        ks["spec"]["decryption"]["secretRef"]["name"]
    );
    assert_eq!(secret["metadata"]["namespace"], ks["metadata"]["namespace"]);
    let identity = String::from_utf8(
        STANDARD
            .decode(secret["data"]["identity.agekey"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let recipient = identity
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap();

    // The example creation rule, with the placeholder replaced, at the repository root.
    let example = std::fs::read_to_string(deploy("flux/sops.yaml.example")).unwrap();
    assert!(example.contains("REPLACE-WITH-YOUR-AGE-RECIPIENT"));
    std::fs::write(
        repo.join(".sops.yaml"),
        example.replace("REPLACE-WITH-YOUR-AGE-RECIPIENT", recipient),
    )
    .unwrap();
    let file = repo.join("apps/db-secret.yaml");
    std::fs::write(&file, SECRET).unwrap();
    let mut cmd = sealbox(home.path());
    cmd.current_dir(&repo)
        .args(["encrypt", "-i", "apps/db-secret.yaml"]);
    ok(run(cmd));
    let encrypted = std::fs::read_to_string(&file).unwrap();
    let doc: Value = serde_saphyr::from_str(&encrypted).unwrap();
    assert_eq!(doc["metadata"]["name"], "db", "metadata stays clear");
    assert!(
        doc["stringData"]["password"]
            .as_str()
            .unwrap()
            .starts_with("ENC[AES256_GCM,")
    );
    assert!(encrypted.contains("mac: ENC["), "Flux's YAML marker");

    // kustomize-controller after the build: the resource as JSON, the sops JSON store,
    // MAC not checked (Flux's default). The real sops stands in for its sops library.
    let flux = tempfile::tempdir().unwrap();
    let agekey = flux.path().join("identity.agekey");
    std::fs::write(&agekey, &identity).unwrap();
    let as_json = flux.path().join("resource.json");
    std::fs::write(&as_json, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let mut sops = sops_real(flux.path());
    sops.env("SOPS_AGE_KEY_FILE", &agekey)
        .args([
            "decrypt",
            "--input-type",
            "json",
            "--output-type",
            "json",
            "--ignore-mac",
        ])
        .arg(&as_json);
    let plain: Value = serde_json::from_slice(&ok(run(sops))).unwrap();
    assert_eq!(plain["stringData"]["password"], "gitops-deploy-password");
    assert_eq!(plain["metadata"], doc["metadata"]);
}
