//! Principals: people and identities as the engine compares them.
//!
//! SECURITY: every check that asks "is this the same person?" (four eyes, the not-an-agent
//! check, N distinct approvers, the kill switch) compares canonical forms, so that a
//! look-alike spelling is the same principal, never "someone else": Unicode compatibility
//! forms (NFKC), invisible format characters (`U+200B`, `U+FEFF`, ...), surrounding space,
//! letter case, a domain's trailing dot, and confusable characters (the Unicode TR39 skeleton:
//! Cyrillic `а` for Latin `a`, full-width letters) all fold away. Folding errs towards "the
//! same": two real people never share a canonical form in practice, while a forged look-alike
//! must never count as a second person.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::general_category::{GeneralCategory, UnicodeGeneralCategory};

/// A person or an identity in canonical form; two principals are the same when their forms are.
///
/// ```
/// use agentwarrant::Principal;
/// let bob = Principal::new("bob@acme.com");
/// for look_alike in ["Bob@ACME.com", " bob@acme.com.", "bob\u{200b}@acme.com", "ｂｏｂ@acme.com", "bоb@acme.com"] {
///     assert_eq!(Principal::new(look_alike), bob, "{look_alike:?}");
/// }
/// assert_ne!(Principal::new("carol@acme.com"), bob);
/// assert!(Principal::new("AGENT://acme/ops").is_agent());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Principal(String);

/// The scheme of agent identities, which never approve.
const AGENT_SCHEME: &str = "agent://";

impl Principal {
    /// The canonical form of `text`.
    pub fn new(text: &str) -> Self {
        let visible: String = text
            .nfkc()
            .filter(|c| c.general_category() != GeneralCategory::Format)
            .collect();
        let folded: String = tidy(&visible).to_lowercase().nfkc().collect();
        let skeleton: String = unicode_security::skeleton(tidy(&folded)).collect();
        Self(tidy(&skeleton).to_owned())
    }

    /// The canonical form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is an agent identity (`agent://...`), which is never a human approver.
    pub fn is_agent(&self) -> bool {
        self.0.starts_with(Principal::new(AGENT_SCHEME).as_str())
            || self.0.starts_with(AGENT_SCHEME)
    }

    /// Whether nothing is left of the text (empty, or only invisible characters).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Surrounding space and a trailing dot (a fully qualified domain) dropped.
fn tidy(text: &str) -> &str {
    text.trim().trim_end_matches('.').trim_end()
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Principal {
    fn from(text: &str) -> Self {
        Principal::new(text)
    }
}

#[cfg(test)]
mod tests {
    use super::Principal;

    #[test]
    fn look_alikes_of_one_person_are_one_principal() {
        let alice = Principal::new("alice@acme.com");
        for spelling in [
            "alice@acme.com\u{200b}",
            "\u{200b}alice@acme.com",
            "alice@acme.com.",
            "ALICE@Acme.Com",
            "\u{feff}alice@acme.com ",
            "ａｌｉｃｅ@ａｃｍｅ.ｃｏｍ",
            "alice@acme.com\u{2060}",
            "аlice@acme.com", // Cyrillic а
            "alice@acme\u{00ad}.com",
        ] {
            assert_eq!(Principal::new(spelling), alice, "{spelling:?}");
        }
        let ops = Principal::new("agent://acme/ops");
        assert_eq!(Principal::new("\u{200b}agent://acme/ops"), ops);
        assert!(Principal::new("\u{200b}AGENT://acme/ops").is_agent());
        assert!(Principal::new("ａｇｅｎｔ://acme/ops").is_agent());
    }

    #[test]
    fn different_people_stay_different() {
        let names = [
            "alice@acme.com",
            "bob@acme.com",
            "carol@acme.com",
            "alice@acme.org",
        ];
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert_ne!(Principal::new(a), Principal::new(b), "{a} vs {b}");
            }
        }
        assert!(Principal::new("\u{200b}\u{feff} ").is_empty());
    }
}
