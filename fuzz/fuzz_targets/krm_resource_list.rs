//! The reader of `sealbox krm` (KSOPS-compatible kustomize generator): a KRM `ResourceList`
//! on stdin, or a legacy plugin's config file, through the manifest stream parser
//! (`controller/src/api/manifest.rs`) and the ResourceList / generator-config reader
//! (`cli/src/commands/render/resource_list.rs`), both compiled in here by path so the fuzz
//! build pulls neither the CLI nor kube. The same bytes are also read as a decrypted env file
//! (`secretFrom[].envs`), and each line through godotenv's unquoting.
//!
//! Invariants besides "no panic": an accepted list has at least one config, each with
//! something to generate and a non-empty origin; every `key=path` entry splits into a
//! non-empty key (unless the entry is empty) and a path that is a suffix of the entry; every
//! error renders a message; env keys never span lines.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../controller/src/api/manifest.rs"]
mod manifest;

#[allow(dead_code)]
#[path = "../../cli/src/commands/render/resource_list.rs"]
mod resource_list;

fn check_entry(entry: &str) {
    let (key, path) = resource_list::split_entry(entry);
    assert!(entry.ends_with(path), "path {path:?} not from {entry:?}");
    assert!(
        !key.is_empty() || entry.is_empty(),
        "empty key from {entry:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match manifest::parse_documents("<stdin>", text) {
        Ok(documents) => {
            let values: Vec<_> = documents.into_iter().map(|d| d.value).collect();
            // The legacy plugin reads each document as a config.
            for (i, v) in values.iter().enumerate() {
                if let Err(e) = resource_list::parse_config(v, &format!("config[{i}]")) {
                    assert!(!e.to_string().is_empty());
                }
            }
            match resource_list::read_resource_list(values) {
                Ok(input) => {
                    assert!(!input.configs.is_empty());
                    for (config, origin) in &input.configs {
                        assert!(!origin.is_empty());
                        assert!(!config.files.is_empty() || !config.secret_from.is_empty());
                        let _ = config.label();
                        for s in &config.secret_from {
                            for entry in s.files.iter().chain(&s.binary_files) {
                                check_entry(entry);
                            }
                        }
                    }
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match resource_list::parse_env_lines(text) {
        Ok(vars) => {
            for (key, _) in vars {
                assert!(!key.contains('\n'));
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    for line in text.lines() {
        let _ = resource_list::unquote_env(line);
        check_entry(line);
    }
});
