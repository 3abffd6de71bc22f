//! "No secret in output": scan everything a scenario printed or wrote for known plaintexts.
//!
//! A test names the plaintexts its scenario handles (values in Secrets, SOPS files, store
//! entries) and hands every output to a [`LeakScan`]: the stdout of commands whose stdout
//! is not the requested plaintext, every stderr, controller logs (run at DEBUG), and what the
//! controller wrote to the API double — every Event, and the `status` and `metadata` of every
//! object, both as each write happened ([`ApiRecorder`], so a value that was written and
//! later overwritten is still caught) and in the final state. Secrets' `data`/`stringData`
//! are the one place a value belongs and are not scanned; their metadata is.
//!
//! Each plaintext is looked for in several spellings, because a leak rarely prints the
//! value as it is: raw bytes; JSON-escaped (a value with a quote or a line break inside a
//! JSON log line); standard and URL-safe base64 at each of the three byte alignments (the
//! value inside a base64 blob, e.g. a whole Secret `data` map or a JSON-encoded Secret in
//! an error); and lower-case hex. Plaintexts must be at least [`MIN_LEN`] bytes so the
//! base64 cores are long enough not to match by chance.
//!
//! A finding names where (the location label given with the text, a byte offset and the
//! line with the match masked) and which plaintext and spelling matched — never the
//! plaintext itself, so a failing test does not print a value either.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::apiserver::ApiServer;
use crate::apiserver::store::WatchEntry;

/// Shortest plaintext accepted: shorter ones would match ordinary text.
pub const MIN_LEN: usize = 6;

/// One spelling of one plaintext.
#[derive(Clone, Debug)]
struct Needle {
    /// Index of the plaintext in the list given to [`LeakScan::new`].
    secret: usize,
    /// How it is spelled (`raw`, `base64 (offset 1)`, ...).
    form: String,
    bytes: Vec<u8>,
}

/// Where a plaintext was found.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The location label (e.g. `stderr of \`sealbox decrypt\``, `Event demo/x.1`).
    pub location: String,
    /// Index of the plaintext (in the order given to [`LeakScan::new`]).
    pub secret: usize,
    /// The spelling that matched.
    pub form: String,
    /// Byte offset in the scanned text.
    pub offset: usize,
    /// The line around the match, with the match replaced by `«…»`.
    pub context: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: plaintext #{} ({}) at byte {}: {}",
            self.location, self.secret, self.form, self.offset, self.context
        )
    }
}

/// Collects findings over any number of scanned texts; see the module docs.
#[derive(Debug)]
pub struct LeakScan {
    needles: Vec<Needle>,
    findings: Vec<Finding>,
    scanned: usize,
}

/// The part of a base64 encoding that depends only on `plain` when it starts `align`
/// bytes (0–2) into a 3-byte group; the same text appears in any base64 encoding of
/// bytes containing `plain` at that alignment.
fn base64_core(engine: &base64::engine::GeneralPurpose, plain: &[u8], align: usize) -> String {
    let mut padded = vec![0u8; align];
    padded.extend_from_slice(plain);
    let encoded = engine.encode(&padded);
    let start = (8 * align).div_ceil(6);
    let end = (8 * padded.len()) / 6;
    encoded[start..end.min(encoded.len())].to_owned()
}

impl LeakScan {
    /// A scan for these plaintexts. Panics if one is shorter than [`MIN_LEN`].
    pub fn new<I, S>(plaintexts: I) -> LeakScan
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let mut needles = Vec::new();
        for (i, p) in plaintexts.into_iter().enumerate() {
            let p = p.as_ref();
            assert!(
                p.len() >= MIN_LEN,
                "plaintext #{i} is shorter than {MIN_LEN} bytes: choose distinctive test values"
            );
            let mut add = |form: String, bytes: Vec<u8>| {
                if !needles
                    .iter()
                    .any(|n: &Needle| n.secret == i && n.bytes == bytes)
                {
                    needles.push(Needle {
                        secret: i,
                        form,
                        bytes,
                    });
                }
            };
            add("raw".into(), p.to_vec());
            if let Ok(text) = std::str::from_utf8(p) {
                let json = serde_json::to_string(text).expect("a string serialises");
                add(
                    "JSON-escaped".into(),
                    json.as_bytes()[1..json.len() - 1].to_vec(),
                );
            }
            for (name, engine) in [
                ("base64", &base64::engine::general_purpose::STANDARD),
                ("base64url", &base64::engine::general_purpose::URL_SAFE),
            ] {
                for align in 0..3 {
                    add(
                        format!("{name} (offset {align})"),
                        base64_core(engine, p, align).into_bytes(),
                    );
                }
            }
            add("hex".into(), hex_lower(p).into_bytes());
        }
        LeakScan {
            needles,
            findings: Vec::new(),
            scanned: 0,
        }
    }

    /// Scan one text; `location` says where it came from in a finding.
    pub fn scan(&mut self, location: impl Into<String>, text: impl AsRef<[u8]>) -> &mut Self {
        let location = location.into();
        let text = text.as_ref();
        self.scanned += 1;
        for needle in &self.needles {
            let n = &needle.bytes;
            if n.is_empty() || n.len() > text.len() {
                continue;
            }
            let mut from = 0;
            while let Some(pos) = find(&text[from..], n) {
                let offset = from + pos;
                self.findings.push(Finding {
                    location: location.clone(),
                    secret: needle.secret,
                    form: needle.form.clone(),
                    offset,
                    context: masked_line(text, offset, n.len()),
                });
                from = offset + n.len();
            }
        }
        self
    }

    /// Scan a finished command: stderr always, stdout unless it is the output the user
    /// asked for (e.g. `decrypt` to stdout).
    pub fn scan_output(
        &mut self,
        what: &str,
        output: &std::process::Output,
        stdout_requested: bool,
    ) -> &mut Self {
        if !stdout_requested {
            self.scan(format!("stdout of {what}"), &output.stdout);
        }
        self.scan(format!("stderr of {what}"), &output.stderr)
    }

    /// Scan one API object as the controller may write it: an Event whole; anything else
    /// its `status` and `metadata` (Secrets' data is where values belong).
    pub fn scan_object(&mut self, storage: &str, object: &Value) -> &mut Self {
        let name = format!(
            "{storage} {}/{}",
            object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or(""),
            object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
        );
        if storage.ends_with("/events") {
            return self.scan(format!("Event {name}"), object.to_string());
        }
        for part in ["status", "metadata"] {
            if let Some(v) = object.get(part) {
                self.scan(format!("{part} of {name}"), v.to_string());
            }
        }
        self
    }

    /// Scan the double's final state: every object of every served resource.
    pub fn scan_api_state(&mut self, double: &ApiServer) -> &mut Self {
        let objects: Vec<(String, Arc<Value>)> = {
            let store = double.store();
            let storages: Vec<Arc<str>> = store.endpoints().map(|e| e.storage.clone()).collect();
            let mut seen = std::collections::BTreeSet::new();
            let mut out = Vec::new();
            for s in storages {
                if seen.insert(s.clone()) {
                    for o in store.all(&s) {
                        out.push((s.to_string(), o));
                    }
                }
            }
            out
        };
        for (storage, o) in objects {
            self.scan_object(&storage, &o);
        }
        self
    }

    /// Scan every write the recorder saw since it started (or since the last call).
    pub fn scan_api_writes(&mut self, recorder: &mut ApiRecorder) -> &mut Self {
        for entry in recorder.drain() {
            self.scan_object(&entry.storage, &entry.object);
        }
        if recorder.lagged > 0 {
            self.findings.push(Finding {
                location: "API write recorder".into(),
                secret: usize::MAX,
                form: "-".into(),
                offset: 0,
                context: format!(
                    "{} writes were missed (recorder lagged): the scan is incomplete",
                    recorder.lagged
                ),
            });
        }
        self
    }

    /// How many texts were scanned (a test can assert its scan covered something).
    pub fn scanned(&self) -> usize {
        self.scanned
    }

    /// Everything found so far.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Panic listing every finding, if there is any.
    #[track_caller]
    pub fn assert_clean(&self) {
        if !self.findings.is_empty() {
            let list: Vec<String> = self.findings.iter().map(|f| format!("  {f}")).collect();
            panic!(
                "{} plaintext occurrence(s) in output ({} texts scanned):\n{}",
                self.findings.len(),
                self.scanned,
                list.join("\n")
            );
        }
    }
}

/// Records every persisted write of an [`ApiServer`] from the moment it is started.
pub struct ApiRecorder {
    rx: broadcast::Receiver<Arc<WatchEntry>>,
    lagged: u64,
    recorded: usize,
}

impl ApiRecorder {
    /// Start recording (before the scenario runs).
    pub fn start(double: &ApiServer) -> ApiRecorder {
        ApiRecorder {
            rx: double.store().subscribe(),
            lagged: 0,
            recorded: 0,
        }
    }

    /// How many writes have been handed to a scan so far.
    pub fn recorded(&self) -> usize {
        self.recorded
    }

    fn drain(&mut self) -> Vec<Arc<WatchEntry>> {
        let mut out = Vec::new();
        loop {
            match self.rx.try_recv() {
                Ok(e) => {
                    self.recorded += 1;
                    out.push(e);
                }
                Err(broadcast::error::TryRecvError::Lagged(n)) => self.lagged += n,
                Err(_) => break,
            }
        }
        out
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The line containing `text[offset..offset + len]` with that range replaced by `«…»`,
/// at most ~160 characters of context.
fn masked_line(text: &[u8], offset: usize, len: usize) -> String {
    let start = text[..offset]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1)
        .max(offset.saturating_sub(80));
    let end_of_match = offset + len;
    let end = text[end_of_match..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |p| end_of_match + p)
        .min(end_of_match + 80);
    format!(
        "{}«…»{}",
        String::from_utf8_lossy(&text[start..offset]),
        String::from_utf8_lossy(&text[end_of_match..end])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "hunter2-\"quoted\"\nvalue";

    fn found(text: &str) -> Vec<String> {
        let mut scan = LeakScan::new([SECRET]);
        scan.scan("t", text);
        scan.findings().iter().map(|f| f.form.clone()).collect()
    }

    #[test]
    fn finds_every_spelling_and_masks_it() {
        assert_eq!(found(&format!("x {SECRET} y")), ["raw"]);
        let json = serde_json::json!({"msg": format!("bad value {SECRET}")}).to_string();
        assert_eq!(found(&json), ["JSON-escaped"]);
        // Inside a larger base64 blob, at each alignment.
        for prefix in ["", "a", "ab", "abc"] {
            let blob = base64::engine::general_purpose::STANDARD
                .encode(format!("{prefix}{SECRET}{{\"more\":1}}"));
            let forms = found(&format!("data: {blob}"));
            assert_eq!(forms.len(), 1, "{prefix:?}: {forms:?}");
            assert!(forms[0].starts_with("base64 (offset"), "{forms:?}");
        }
        let url = base64::engine::general_purpose::URL_SAFE.encode(format!("??>{SECRET}"));
        assert!(!found(&url).is_empty());
        assert_eq!(found(&hex_lower(SECRET.as_bytes())), ["hex"]);
        assert!(found("nothing to see; hunter2 alone is not the value").is_empty());

        let mut scan = LeakScan::new(["s3cr3t-value"]);
        scan.scan(
            "stderr of x",
            "line one\nerror: got s3cr3t-value here\nlast",
        );
        let f = &scan.findings()[0];
        assert_eq!(f.location, "stderr of x");
        assert_eq!(f.context, "error: got «…» here");
        assert!(!f.to_string().contains("s3cr3t-value"));
        let caught = std::panic::catch_unwind(|| scan.assert_clean()).unwrap_err();
        let message = caught.downcast_ref::<String>().unwrap();
        assert!(message.contains("stderr of x") && !message.contains("s3cr3t-value"));
    }

    #[test]
    fn objects_are_scanned_where_the_controller_writes() {
        let mut scan = LeakScan::new(["s3cr3t-value"]);
        let secret = serde_json::json!({
            "metadata": {"name": "a", "namespace": "n"},
            "data": {"k": base64::engine::general_purpose::STANDARD.encode("s3cr3t-value")}
        });
        scan.scan_object("core/secrets", &secret);
        assert!(
            scan.findings().is_empty(),
            "a Secret's data is where it belongs"
        );
        let status = serde_json::json!({
            "metadata": {"name": "a", "namespace": "n"},
            "spec": {"ignored": "s3cr3t-value"},
            "status": {"conditions": [{"message": "oops s3cr3t-value"}]}
        });
        scan.scan_object("bitnami.com/sealedsecrets", &status);
        assert_eq!(scan.findings().len(), 1);
        assert_eq!(
            scan.findings()[0].location,
            "status of bitnami.com/sealedsecrets n/a"
        );
        let event = serde_json::json!({"metadata": {"name": "e", "namespace": "n"}, "note": "s3cr3t-value"});
        scan.scan_object("events.k8s.io/events", &event);
        assert_eq!(
            scan.findings()[1].location,
            "Event events.k8s.io/events n/e"
        );
    }

    #[test]
    #[should_panic(expected = "shorter than")]
    fn short_plaintexts_are_refused() {
        LeakScan::new(["abc"]);
    }
}
