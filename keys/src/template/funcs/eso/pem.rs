//! ESO's PEM helpers (`runtime/template/v2/pem.go`, `pem_chain.go`): `filterPEM`,
//! `filterCertChain`, `certSANs`, on top of a PEM codec that follows Go's `encoding/pem`
//! (`Decode` skips text between blocks, tolerates headers and trailing spaces; `Encode`
//! writes 64-column base64). The `pem` crate is not used because ESO's results depend on
//! Go's exact `rest` and junk semantics.

use base64::Engine as _;
use x509_parser::extensions::{GeneralName, ParsedExtension};

use crate::template::error::FuncError;
use crate::template::funcs::{CallCtx, s, take_str};
use crate::template::value::Value;

type R = Result<Value, FuncError>;

/// A decoded PEM block (headers are parsed but not kept: ESO re-encodes without them).
pub(crate) struct Block {
    pub kind: Vec<u8>,
    pub bytes: Vec<u8>,
}

fn get_line(data: &[u8]) -> (&[u8], &[u8]) {
    let (line, rest) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    };
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b' ' | b'\t' | b'\r') {
        end -= 1;
    }
    (&line[..end], rest)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Go `pem.Decode`: the first block and the rest, or `None` and the whole input.
pub(crate) fn decode(data: &[u8]) -> (Option<Block>, &[u8]) {
    const START: &[u8] = b"\n-----BEGIN ";
    const END: &[u8] = b"\n-----END ";
    const EOL: &[u8] = b"-----";
    let mut rest = data;
    loop {
        if rest.starts_with(&START[1..]) {
            rest = &rest[START.len() - 1..];
        } else if let Some(i) = find(rest, START) {
            rest = &rest[i + START.len()..];
        } else {
            return (None, data);
        }
        let (type_line, after) = get_line(rest);
        rest = after;
        if !type_line.ends_with(EOL) {
            continue;
        }
        let kind = &type_line[..type_line.len() - EOL.len()];
        let mut has_headers = false;
        loop {
            if rest.is_empty() {
                return (None, data);
            }
            let (line, next) = get_line(rest);
            if !line.contains(&b':') {
                break;
            }
            has_headers = true;
            rest = next;
        }
        let (end_index, trailer_index) = if !has_headers && rest.starts_with(&END[1..]) {
            (0usize, END.len() - 1)
        } else {
            match find(rest, END) {
                Some(i) => (i, i + END.len()),
                None => continue,
            }
        };
        let trailer = &rest[trailer_index.min(rest.len())..];
        let trailer_len = kind.len() + EOL.len();
        if trailer.len() < trailer_len {
            continue;
        }
        let (t, rest_of_line) = trailer.split_at(trailer_len);
        if !t.starts_with(kind) || !t.ends_with(EOL) {
            continue;
        }
        if !get_line(rest_of_line).0.is_empty() {
            continue;
        }
        let b64: Vec<u8> = rest[..end_index]
            .iter()
            .copied()
            .filter(|b| *b != b' ' && *b != b'\t')
            .collect();
        let Ok(bytes) = crate::template::funcs::sprig::go_b64_decode(&b64) else {
            continue;
        };
        let after_end = &rest[end_index + END.len() - 1..];
        let (_, remaining) = get_line(after_end);
        return (
            Some(Block {
                kind: kind.to_vec(),
                bytes,
            }),
            remaining,
        );
    }
}

/// Go `pem.Encode` without headers.
pub(crate) fn encode(kind: &str, der: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {kind}-----\n").into_bytes();
    for chunk in b64.as_bytes().chunks(64) {
        out.extend_from_slice(chunk);
        out.push(b'\n');
    }
    out.extend_from_slice(format!("-----END {kind}-----\n").as_bytes());
    out
}

fn encode_raw_kind(kind: &[u8], der: &[u8]) -> Vec<u8> {
    encode(&String::from_utf8_lossy(kind), der)
}

/// ESO `trimJunk`: drop everything before the first `-----BEGIN`.
fn trim_junk(input: &[u8]) -> &[u8] {
    match find(input, b"-----BEGIN") {
        Some(i) => &input[i..],
        None => input,
    }
}

pub(super) fn filter_pem(c: &CallCtx, mut a: Vec<Value>) -> R {
    let want = take_str(&mut a, 0);
    let input = take_str(&mut a, 1);
    let mut data = trim_junk(&input);
    let mut out = Vec::new();
    let mut rest: &[u8];
    loop {
        let (block, r) = decode(data);
        rest = r;
        data = r;
        let Some(b) = block else { break };
        if b.kind.eq_ignore_ascii_case(&want) {
            out.extend(encode_raw_kind(&b.kind, &b.bytes));
        }
    }
    if out.is_empty() && !rest.is_empty() {
        return Err(FuncError::msg("error filtering pem: found junk"));
    }
    c.check_size(out.len())?;
    s(out)
}

/// The parts of an X.509 certificate ESO's helpers look at.
pub(crate) struct CertInfo {
    pub raw: Vec<u8>,
    pub ski: Option<Vec<u8>>,
    pub aki: Option<Vec<u8>>,
}

pub(crate) fn parse_cert(der: &[u8]) -> Result<CertInfo, FuncError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| FuncError::msg("x509: malformed certificate"))?;
    let mut info = CertInfo {
        raw: der.to_vec(),
        ski: None,
        aki: None,
    };
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => info.ski = Some(k.0.to_vec()),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                info.aki = a.key_identifier.as_ref().map(|k| k.0.to_vec());
            }
            _ => {}
        }
    }
    Ok(info)
}

/// Go's `bytes.Equal` on possibly-nil slices: nil equals empty.
fn bytes_eq(a: &Option<Vec<u8>>, b: &Option<Vec<u8>>) -> bool {
    a.as_deref().unwrap_or(&[]) == b.as_deref().unwrap_or(&[])
}

fn is_root(c: &CertInfo) -> bool {
    c.aki.is_none() || bytes_eq(&c.aki, &c.ski)
}

/// ESO `fetchX509CertChains`: orders certificates leaf → intermediates → root by
/// AuthorityKeyId/SubjectKeyId (no trust validation, as upstream).
pub(crate) fn order_chain(certs: Vec<CertInfo>) -> Result<Vec<CertInfo>, FuncError> {
    let n = certs.len();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    let mut is_parent = vec![false; n];
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            if bytes_eq(&certs[i].aki, &certs[j].ski) {
                is_parent[j] = true;
                parent[i] = Some(j);
                break;
            }
        }
    }
    let mut leaf = None;
    for (i, parent_flag) in is_parent.iter().enumerate() {
        if !parent_flag {
            if leaf.is_some() {
                return Err(FuncError::msg(
                    "found multiple leaf or disjunct certificates",
                ));
            }
            leaf = Some(i);
        }
    }
    let Some(mut cur) = leaf else {
        return Err(FuncError::msg("no leaf certificate found"));
    };
    let mut order = Vec::new();
    loop {
        order.push(cur);
        if order.len() > n {
            return Err(FuncError::msg("constructing chain resulted in cycle"));
        }
        match parent[cur] {
            Some(p) => cur = p,
            None => break,
        }
    }
    let mut slots: Vec<Option<CertInfo>> = certs.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

/// All PEM blocks of `data` parsed as certificates (ESO `pemToNodes`).
pub(crate) fn certs_from_pem(mut data: &[u8]) -> Result<Vec<CertInfo>, FuncError> {
    let mut out = Vec::new();
    loop {
        let (block, rest) = decode(data);
        data = rest;
        let Some(b) = block else { break };
        out.push(parse_cert(&b.bytes)?);
    }
    Ok(out)
}

pub(super) fn filter_cert_chain(_: &CallCtx, mut a: Vec<Value>) -> R {
    let kind = take_str(&mut a, 0);
    let input = take_str(&mut a, 1);
    let ordered = order_chain(certs_from_pem(&input)?)?;
    match kind.as_slice() {
        b"leaf" => {
            let c = &ordered[0];
            if c.aki.is_some() && !bytes_eq(&c.aki, &c.ski) {
                return s(encode("CERTIFICATE", &c.raw));
            }
        }
        b"intermediate" => {
            let mut out = Vec::new();
            for c in ordered.iter().skip(1) {
                if is_root(c) {
                    break;
                }
                out.extend(encode("CERTIFICATE", &c.raw));
            }
            return s(out);
        }
        b"root" => {
            if let Some(c) = ordered.last()
                && is_root(c)
            {
                return s(encode("CERTIFICATE", &c.raw));
            }
        }
        _ => {}
    }
    s("")
}

pub(super) fn cert_sans(_: &CallCtx, mut a: Vec<Value>) -> R {
    let input = take_str(&mut a, 0);
    let (block, _) = decode(trim_junk(&input));
    let Some(b) = block else {
        return Err(FuncError::msg("failed to decode PEM block"));
    };
    let (_, cert) = x509_parser::parse_x509_certificate(&b.bytes)
        .map_err(|_| FuncError::msg("failed to parse certificate: x509: malformed certificate"))?;
    let (mut dns, mut ips, mut emails, mut uris) = (vec![], vec![], vec![], vec![]);
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns.push(d.to_string()),
                GeneralName::IPAddress(ip) => ips.push(format_ip(ip)),
                GeneralName::RFC822Name(e) => emails.push(e.to_string()),
                GeneralName::URI(u) => uris.push(u.to_string()),
                _ => {}
            }
        }
    }
    let all = dns.into_iter().chain(ips).chain(emails).chain(uris);
    Ok(Value::List(
        all.map(|v| Value::String(v.into_bytes())).collect(),
    ))
}

/// Go `net.IP.String()` for 4- and 16-byte addresses.
fn format_ip(b: &[u8]) -> String {
    match b.len() {
        4 => std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            let v6 = std::net::Ipv6Addr::from(a);
            match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => v6.to_string(),
            }
        }
        _ => {
            let mut s = String::from("?");
            for x in b {
                s.push_str(&format!("{x:02x}"));
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_decode_follows_go() {
        let pem = encode("TEST", b"hello");
        let mut input = b"junk\n".to_vec();
        input.extend(&pem);
        input.extend(b"tail");
        let (b, rest) = decode(&input);
        let b = b.unwrap();
        assert_eq!(b.kind, b"TEST");
        assert_eq!(b.bytes, b"hello");
        assert_eq!(rest, b"tail");
        assert!(decode(b"no pem here").0.is_none());
        // headers are tolerated
        let with_headers = b"-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\n\naGk=\n-----END X-----\n";
        assert_eq!(decode(with_headers).0.unwrap().bytes, b"hi");
    }
}
