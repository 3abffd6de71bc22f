//! Which values get encrypted: sops' six mutually exclusive rules (`Tree.shouldBeEncrypted`).
//!
//! A rule is applied to the *whole* key path (every ancestor key), and the comment rules to
//! the stack of comments seen since the last value at each nesting level. At most one rule
//! may be set; when none is, sops applies `unencrypted_suffix: _unencrypted`, also when
//! reading a file (`stores.Metadata.ToInternal`), so readers must do the same.

use regex::Regex;

use super::error::{Result, SopsError};

/// The suffix sops uses when no rule is configured.
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

/// The one encryption rule of a file.
#[derive(Clone, Debug)]
pub enum EncryptionRule {
    /// Keys (or ancestors) ending with this suffix stay clear.
    UnencryptedSuffix(String),
    /// Only keys (or ancestors) ending with this suffix are encrypted.
    EncryptedSuffix(String),
    /// Keys (or ancestors) matching this regex stay clear.
    UnencryptedRegex(RuleRegex),
    /// Only keys (or ancestors) matching this regex are encrypted.
    EncryptedRegex(RuleRegex),
    /// Values preceded by a comment matching this regex stay clear.
    UnencryptedCommentRegex(RuleRegex),
    /// Only values preceded by a comment matching this regex are encrypted.
    EncryptedCommentRegex(RuleRegex),
}

/// A compiled regex that remembers its source text (written back into metadata verbatim).
#[derive(Clone, Debug)]
pub struct RuleRegex {
    source: String,
    regex: Regex,
}

impl RuleRegex {
    /// Compile a Go RE2 pattern (the `regex` crate implements the same syntax family).
    pub fn new(source: &str) -> Result<RuleRegex> {
        let regex = Regex::new(source).map_err(|e| SopsError::InvalidMetadata {
            field: "regex".into(),
            reason: format!("{source:?} is not a valid regular expression: {e}"),
        })?;
        Ok(RuleRegex {
            source: source.to_string(),
            regex,
        })
    }
    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
    fn is_match(&self, s: &str) -> bool {
        self.regex.is_match(s)
    }
}

impl Default for EncryptionRule {
    fn default() -> Self {
        EncryptionRule::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.to_string())
    }
}

/// Comments seen since the last value, one frame per nesting level (sops' `commentsStack`).
pub type CommentStack = Vec<Vec<String>>;

impl EncryptionRule {
    /// Build from the six optional metadata/config fields; more than one set is an error.
    pub fn from_fields(
        unencrypted_suffix: Option<&str>,
        encrypted_suffix: Option<&str>,
        unencrypted_regex: Option<&str>,
        encrypted_regex: Option<&str>,
        unencrypted_comment_regex: Option<&str>,
        encrypted_comment_regex: Option<&str>,
    ) -> Result<Option<EncryptionRule>> {
        fn set(v: Option<&str>) -> Option<&str> {
            v.filter(|s| !s.is_empty())
        }
        let mut rules = Vec::new();
        if let Some(s) = set(unencrypted_suffix) {
            rules.push(EncryptionRule::UnencryptedSuffix(s.into()));
        }
        if let Some(s) = set(encrypted_suffix) {
            rules.push(EncryptionRule::EncryptedSuffix(s.into()));
        }
        if let Some(s) = set(unencrypted_regex) {
            rules.push(EncryptionRule::UnencryptedRegex(RuleRegex::new(s)?));
        }
        if let Some(s) = set(encrypted_regex) {
            rules.push(EncryptionRule::EncryptedRegex(RuleRegex::new(s)?));
        }
        if let Some(s) = set(unencrypted_comment_regex) {
            rules.push(EncryptionRule::UnencryptedCommentRegex(RuleRegex::new(s)?));
        }
        if let Some(s) = set(encrypted_comment_regex) {
            rules.push(EncryptionRule::EncryptedCommentRegex(RuleRegex::new(s)?));
        }
        match rules.len() {
            0 => Ok(None),
            1 => Ok(rules.pop()),
            _ => Err(SopsError::Conflict(
                "Cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file".into(),
            )),
        }
    }

    /// The metadata field name and value this rule is stored as.
    pub fn field(&self) -> (&'static str, &str) {
        match self {
            EncryptionRule::UnencryptedSuffix(s) => ("unencrypted_suffix", s),
            EncryptionRule::EncryptedSuffix(s) => ("encrypted_suffix", s),
            EncryptionRule::UnencryptedRegex(r) => ("unencrypted_regex", r.as_str()),
            EncryptionRule::EncryptedRegex(r) => ("encrypted_regex", r.as_str()),
            EncryptionRule::UnencryptedCommentRegex(r) => ("unencrypted_comment_regex", r.as_str()),
            EncryptionRule::EncryptedCommentRegex(r) => ("encrypted_comment_regex", r.as_str()),
        }
    }

    /// `Tree.shouldBeEncrypted`.
    pub fn should_encrypt(
        &self,
        path: &[String],
        comments: &CommentStack,
        is_comment: bool,
    ) -> bool {
        match self {
            EncryptionRule::UnencryptedSuffix(s) => !path.iter().any(|k| k.ends_with(s.as_str())),
            EncryptionRule::EncryptedSuffix(s) => path.iter().any(|k| k.ends_with(s.as_str())),
            EncryptionRule::UnencryptedRegex(r) => !path.iter().any(|k| r.is_match(k)),
            EncryptionRule::EncryptedRegex(r) => path.iter().any(|k| r.is_match(k)),
            EncryptionRule::UnencryptedCommentRegex(r) => {
                !comments.iter().flatten().any(|c| r.is_match(c))
            }
            EncryptionRule::EncryptedCommentRegex(r) => {
                let last_frame = comments.len().saturating_sub(1);
                let last_len = comments.last().map_or(0, Vec::len);
                comments.iter().enumerate().any(|(i, frame)| {
                    frame.iter().enumerate().any(|(j, c)| {
                        // The matching comment line itself stays clear.
                        let is_self = is_comment && i == last_frame && j + 1 == last_len;
                        !is_self && r.is_match(c)
                    })
                })
            }
        }
    }

    /// sops refuses to write an encrypted comment that the unencrypted-comment rule would match.
    pub fn rejects_encrypted_comment(&self, encrypted: &str) -> bool {
        matches!(self, EncryptionRule::UnencryptedCommentRegex(r) if r.is_match(encrypted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn path_rules_apply_to_ancestors() {
        let r = EncryptionRule::default();
        assert!(r.should_encrypt(&p(&["a", "b"]), &vec![], false));
        assert!(!r.should_encrypt(&p(&["a_unencrypted", "b"]), &vec![], false));
        let r = EncryptionRule::EncryptedRegex(RuleRegex::new("^(data|stringData)$").unwrap());
        assert!(r.should_encrypt(&p(&["data", "x"]), &vec![], false));
        assert!(!r.should_encrypt(&p(&["metadata", "name"]), &vec![], false));
        let r = EncryptionRule::EncryptedSuffix("_secret".into());
        assert!(r.should_encrypt(&p(&["x_secret", "y"]), &vec![], false));
        assert!(!r.should_encrypt(&p(&["x"]), &vec![], false));
    }

    #[test]
    fn comment_rules_skip_the_matching_line() {
        let r = EncryptionRule::EncryptedCommentRegex(RuleRegex::new("sops:enc").unwrap());
        let stack = vec![vec![" sops:enc".to_string()]];
        assert!(r.should_encrypt(&p(&["k"]), &stack, false));
        assert!(!r.should_encrypt(&p(&[]), &stack, true));
        assert!(!r.should_encrypt(&p(&["k"]), &vec![vec![]], false));
    }

    #[test]
    fn at_most_one_rule() {
        assert!(
            EncryptionRule::from_fields(Some("_u"), Some("_e"), None, None, None, None).is_err()
        );
        assert!(
            EncryptionRule::from_fields(None, None, None, None, None, None)
                .unwrap()
                .is_none()
        );
    }
}
