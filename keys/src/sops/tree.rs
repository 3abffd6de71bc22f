//! The document tree as sops sees it, in two type states.
//!
//! [`PlainTree`] holds decrypted values; [`SealedTree`] holds what is written to disk (either
//! an `ENC[…]` value or a value left clear by the rules). Only [`seal`] turns the first into
//! the second and only [`open`] goes back, so plaintext can never be emitted where ciphertext
//! is expected. The walk order, the key path (AAD) and the comment stack follow sops'
//! `walkBranch`/`walkSlice` exactly: list indices are not part of the path, comments use the
//! path of their enclosing collection, and the MAC hashes leaves in walk order.

use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha512};

use super::cipher::{EncryptedValue, IvStash, Plain, Scalar, ValueCipher, aad_for_path};
use super::error::{Location, Result, SopsError};
use super::rules::{CommentStack, EncryptionRule};

/// Index of a leaf's position in the source text (lossless stores); [`NO_SITE`] otherwise.
pub type Site = u32;
/// Marker for leaves that do not come from a source text.
pub const NO_SITE: Site = u32::MAX;

/// A node of a document. `V` is [`Plain`] or [`Sealed`].
#[derive(Clone, Debug, PartialEq)]
pub enum Node<V> {
    /// A mapping, in document order, comments included.
    Map(Vec<MapItem<V>>),
    /// A sequence; comments inside sequences are elements (as in sops).
    Seq(Vec<Node<V>>),
    /// A scalar value.
    Leaf(V, Site),
    /// A comment inside a sequence.
    Comment(V, Site),
    /// `null`: never encrypted, not part of the MAC.
    Null(Site),
}

/// An item of a mapping.
#[derive(Clone, Debug, PartialEq)]
pub enum MapItem<V> {
    /// `key: value`.
    Entry(String, Node<V>),
    /// A comment line.
    Comment(V, Site),
}

/// A value as stored in an encrypted file.
#[derive(Clone, Debug, PartialEq)]
pub enum Sealed {
    /// An `ENC[…]` value.
    Enc(EncryptedValue),
    /// A value or comment the rules leave clear (also empty strings).
    Clear(Plain),
}

/// Decrypted documents (one per YAML document; one for every other format).
pub type PlainTree = Vec<Node<Plain>>;
/// Documents as written to disk.
pub type SealedTree = Vec<Node<Sealed>>;

impl Sealed {
    /// The text sops pushes on the comment stack for this comment.
    fn comment_text(&self) -> Option<String> {
        match self {
            Sealed::Enc(e) => Some(e.to_string()),
            Sealed::Clear(Plain::Comment(c)) => Some(c.clone()),
            Sealed::Clear(Plain::Value(_)) => None,
        }
    }
}

/// Per-leaf visitor used by the walks.
struct Walk<'a, V, W, F: FnMut(&V, &[String], &CommentStack, bool, Site) -> Result<W>> {
    f: &'a mut F,
    comment_text: &'a dyn Fn(&V) -> Option<String>,
    _p: std::marker::PhantomData<(V, W)>,
}

impl<V, W, F: FnMut(&V, &[String], &CommentStack, bool, Site) -> Result<W>> Walk<'_, V, W, F> {
    fn node(
        &mut self,
        n: &Node<V>,
        path: &mut Vec<String>,
        stack: &mut CommentStack,
    ) -> Result<Node<W>> {
        Ok(match n {
            Node::Leaf(v, s) => Node::Leaf((self.f)(v, path, stack, false, *s)?, *s),
            Node::Comment(v, s) => Node::Comment((self.f)(v, path, stack, true, *s)?, *s),
            Node::Null(s) => Node::Null(*s),
            Node::Seq(items) => {
                stack.push(Vec::new());
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Node::Comment(v, _) = item
                        && let Some(t) = (self.comment_text)(v)
                    {
                        stack.last_mut().expect("frame").push(t);
                    }
                    out.push(self.node(item, path, stack)?);
                    if !matches!(item, Node::Comment(..)) {
                        stack.last_mut().expect("frame").clear();
                    }
                }
                stack.pop();
                Node::Seq(out)
            }
            Node::Map(items) => {
                stack.push(Vec::new());
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        MapItem::Comment(v, s) => {
                            if let Some(t) = (self.comment_text)(v) {
                                stack.last_mut().expect("frame").push(t);
                            }
                            out.push(MapItem::Comment((self.f)(v, path, stack, true, *s)?, *s));
                        }
                        MapItem::Entry(k, v) => {
                            path.push(k.clone());
                            let r = self.node(v, path, stack);
                            path.pop();
                            out.push(MapItem::Entry(k.clone(), r?));
                            stack.last_mut().expect("frame").clear();
                        }
                    }
                }
                stack.pop();
                Node::Map(out)
            }
        })
    }
}

fn walk<V, W>(
    docs: &[Node<V>],
    comment_text: &dyn Fn(&V) -> Option<String>,
    mut f: impl FnMut(usize, &V, &[String], &CommentStack, bool, Site) -> Result<W>,
) -> Result<Vec<Node<W>>> {
    let mut out = Vec::with_capacity(docs.len());
    for (i, d) in docs.iter().enumerate() {
        let mut g =
            |v: &V, p: &[String], s: &CommentStack, c: bool, site: Site| f(i, v, p, s, c, site);
        let mut w = Walk {
            f: &mut g,
            comment_text,
            _p: std::marker::PhantomData,
        };
        out.push(w.node(d, &mut Vec::new(), &mut Vec::new())?);
    }
    Ok(out)
}

/// The SHA-512 MAC over leaf plaintexts (`Tree.Encrypt`/`Tree.Decrypt`).
pub struct MacHasher {
    hash: Sha512,
    only_encrypted: bool,
}

/// `sha256("sops")`, the seed of the `mac_only_encrypted` variant.
const MAC_ONLY_ENCRYPTED_SEED: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

impl MacHasher {
    /// Start a MAC; `mac_only_encrypted` seeds it and restricts it to encrypted leaves.
    pub fn new(mac_only_encrypted: bool) -> MacHasher {
        let mut hash = Sha512::new();
        if mac_only_encrypted {
            hash.update(MAC_ONLY_ENCRYPTED_SEED);
        }
        MacHasher {
            hash,
            only_encrypted: mac_only_encrypted,
        }
    }
    fn add(&mut self, value: &Scalar, encrypted: bool) {
        if !self.only_encrypted || encrypted {
            // Strings (nearly every leaf) are hashed in place, without a copy.
            match value {
                Scalar::Str(s) => self.hash.update(s.as_bytes()),
                Scalar::Bytes(b) | Scalar::BinStr(b) => self.hash.update(b),
                other => self.hash.update(other.to_sops_bytes()),
            }
        }
    }
    /// Upper-case hex, as `fmt.Sprintf("%X", sum)`.
    pub fn finish(self) -> String {
        hex::encode_upper(self.hash.finalize())
    }
}

/// Everything needed to encrypt or decrypt values of one file.
pub struct TreeCrypto<'a> {
    /// The cipher bound to the file's data key.
    pub cipher: &'a ValueCipher,
    /// The file's encryption rule.
    pub rule: &'a EncryptionRule,
    /// The `mac_only_encrypted` flag.
    pub mac_only_encrypted: bool,
}

/// Encrypt a plain tree; returns the sealed tree and the (unencrypted) MAC.
pub fn seal(
    docs: &PlainTree,
    crypto: &TreeCrypto<'_>,
    stash: Option<&IvStash>,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(SealedTree, String)> {
    let mut mac = MacHasher::new(crypto.mac_only_encrypted);
    let text = |v: &Plain| match v {
        Plain::Comment(c) => Some(c.clone()),
        Plain::Value(_) => None,
    };
    let sealed = walk(docs, &text, |doc, v, path, stack, is_comment, _| {
        let encrypted = crypto.rule.should_encrypt(path, stack, is_comment);
        if let Plain::Value(s) = v {
            mac.add(s, encrypted);
        }
        if !encrypted {
            return Ok(Sealed::Clear(v.clone()));
        }
        let aad = aad_for_path(path);
        match crypto.cipher.encrypt(v, &aad, stash, rng) {
            None => Ok(Sealed::Clear(v.clone())),
            Some(e) => {
                if is_comment && crypto.rule.rejects_encrypted_comment(&e.to_string()) {
                    return Err(SopsError::EncryptValue {
                        location: Location::new(doc, path),
                        reason: "encrypted comment matches unencrypted_comment_regex".into(),
                    });
                }
                Ok(Sealed::Enc(e))
            }
        }
    })?;
    Ok((sealed, mac.finish()))
}

/// Decrypt a sealed tree; returns the plain tree and the MAC computed over it.
pub fn open(
    docs: &SealedTree,
    crypto: &TreeCrypto<'_>,
    mut stash: Option<&mut IvStash>,
) -> Result<(PlainTree, String)> {
    let mut mac = MacHasher::new(crypto.mac_only_encrypted);
    let plain = walk(
        docs,
        &Sealed::comment_text,
        |doc, v, path, stack, is_comment, _| {
            let encrypted = crypto.rule.should_encrypt(path, stack, is_comment);
            let out = match (v, encrypted) {
                (Sealed::Enc(e), true) => {
                    let aad = aad_for_path(path);
                    match crypto.cipher.decrypt(e, &aad, stash.as_deref_mut()) {
                        Ok(p) => p,
                        // sops assumes an undecryptable comment was never encrypted.
                        Err(_) if is_comment => Plain::Comment(e.to_string()),
                        Err(reason) => {
                            return Err(SopsError::DecryptValue {
                                location: Location::new(doc, path),
                                reason,
                            });
                        }
                    }
                }
                // A value the rules say is clear is taken verbatim even if it looks encrypted.
                (Sealed::Enc(e), false) => {
                    if is_comment {
                        Plain::Comment(e.to_string())
                    } else {
                        Plain::Value(Scalar::Str(e.to_string()))
                    }
                }
                (Sealed::Clear(Plain::Value(Scalar::Str(s))), true)
                    if !s.is_empty() && !is_comment =>
                {
                    return Err(SopsError::DecryptValue {
                        location: Location::new(doc, path),
                        reason: "Input string does not match sops' data format".into(),
                    });
                }
                (Sealed::Clear(Plain::Value(s)), true) if !s.is_empty_value() && !is_comment => {
                    return Err(SopsError::DecryptValue {
                        location: Location::new(doc, path),
                        reason: format!(
                            "expected an encrypted value, found a clear {}",
                            s.type_tag()
                        ),
                    });
                }
                (Sealed::Clear(p), _) => p.clone(),
            };
            if let Plain::Value(s) = &out {
                mac.add(s, encrypted);
            }
            Ok(out)
        },
    )?;
    Ok((plain, mac.finish()))
}

/// Whether two plain trees hold the same content: structure, keys, values, comments and
/// their order; text positions are ignored, and a float equal to an integer matches it (a
/// JSON number `4` given to `set` is a float that YAML writes and reads back as `4`).
pub fn same_content(a: &PlainTree, b: &PlainTree) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_node(x, y))
}

fn same_plain(a: &Plain, b: &Plain) -> bool {
    match (a, b) {
        (Plain::Value(Scalar::Float(f)), Plain::Value(Scalar::Int(i)))
        | (Plain::Value(Scalar::Int(i)), Plain::Value(Scalar::Float(f))) => *f == *i as f64,
        _ => a == b,
    }
}

fn same_node(a: &Node<Plain>, b: &Node<Plain>) -> bool {
    match (a, b) {
        (Node::Map(x), Node::Map(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|(p, q)| match (p, q) {
                    (MapItem::Entry(k1, v1), MapItem::Entry(k2, v2)) => {
                        k1 == k2 && same_node(v1, v2)
                    }
                    (MapItem::Comment(c1, _), MapItem::Comment(c2, _)) => c1 == c2,
                    _ => false,
                })
        }
        (Node::Seq(x), Node::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_node(p, q))
        }
        (Node::Leaf(p, _), Node::Leaf(q, _)) | (Node::Comment(p, _), Node::Comment(q, _)) => {
            same_plain(p, q)
        }
        (Node::Null(_), Node::Null(_)) => true,
        _ => false,
    }
}
