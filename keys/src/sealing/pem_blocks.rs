//! Finding PEM blocks in a text that may hold several (a key next to its certificate, a
//! certificate chain).
//!
//! Decoding is left to the crates that own each format (`pkcs1`/`pkcs8` for keys, which
//! decode into zeroizing buffers, x509-parser for certificates); this only slices the text,
//! so private key bytes are never copied into a buffer nobody wipes.

/// One `-----BEGIN <label>-----` … `-----END <label>-----` block, borrowed from the input.
#[derive(Clone, Copy)]
pub(crate) struct PemBlock<'a> {
    /// The label between `BEGIN ` and the dashes, e.g. `RSA PRIVATE KEY`.
    pub label: &'a str,
    /// The whole block including the BEGIN and END lines.
    pub text: &'a str,
}

/// All well-formed PEM blocks in `input`, in order. Text outside blocks is ignored (PEM
/// files often carry comments or "Bag Attributes" headers).
pub(crate) fn pem_blocks(input: &str) -> Vec<PemBlock<'_>> {
    const BEGIN: &str = "-----BEGIN ";
    const DASHES: &str = "-----";
    let mut blocks = Vec::new();
    let mut rest_start = 0;
    while let Some(found) = input[rest_start..].find(BEGIN) {
        let begin = rest_start + found;
        let label_start = begin + BEGIN.len();
        let Some(label_len) = input[label_start..].find(DASHES) else {
            break;
        };
        let label = &input[label_start..label_start + label_len];
        if label.contains('\n') {
            rest_start = label_start;
            continue;
        }
        let end_marker = format!("-----END {label}-----");
        let Some(end_found) = input[label_start..].find(&end_marker) else {
            break;
        };
        let end = label_start + end_found + end_marker.len();
        blocks.push(PemBlock {
            label,
            text: &input[begin..end],
        });
        rest_start = end;
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_several_blocks_and_ignores_noise() {
        let text = "junk\n-----BEGIN A-----\nQUJD\n-----END A-----\nmore\n-----BEGIN B C-----\nRA==\n-----END B C-----\n";
        let blocks = pem_blocks(text);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "A");
        assert!(blocks[0].text.starts_with("-----BEGIN A-----"));
        assert!(blocks[0].text.ends_with("-----END A-----"));
        assert_eq!(blocks[1].label, "B C");
    }

    #[test]
    fn unterminated_block_is_ignored() {
        assert!(pem_blocks("-----BEGIN A-----\nQUJD\n").is_empty());
        assert!(pem_blocks("no pem here").is_empty());
    }
}
