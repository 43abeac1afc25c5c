//! Scopes (`action:resource`) and scope patterns with `*` wildcards.
//!
//! A pattern is parsed once into literal pieces, so matching on the hot path never re-parses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a scope or pattern string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scope `{text}`: {problem}")]
pub struct ScopeError {
    /// The rejected text.
    pub text: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

/// Splits `text` at its first `:` into non-empty, whitespace-free halves.
fn split(text: &str) -> Result<(&str, &str), ScopeError> {
    let fail = |problem| ScopeError {
        text: text.to_owned(),
        problem,
    };
    if text.chars().any(char::is_whitespace) {
        return Err(fail("a scope contains no whitespace"));
    }
    let (action, resource) = text
        .split_once(':')
        .ok_or_else(|| fail("expected `action:resource`"))?;
    if action.is_empty() || resource.is_empty() {
        return Err(fail("both the action and the resource must be non-empty"));
    }
    Ok((action, resource))
}

/// A concrete scope a call needs, such as `payments.refund:order/123`.
///
/// A `*` in a concrete scope is an ordinary character: only patterns have wildcards.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    text: String,
    colon: usize,
}

impl Scope {
    /// Parses `action:resource`.
    ///
    /// ```
    /// let scope: agentwarrant::Scope = "email.send:bob@acme.com".parse()?;
    /// assert_eq!(scope.action(), "email.send");
    /// assert_eq!(scope.resource(), "bob@acme.com");
    /// # Ok::<(), agentwarrant::ScopeError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        let (action, _) = split(text)?;
        Ok(Self {
            text: text.to_owned(),
            colon: action.len(),
        })
    }

    /// The part before the first `:`.
    pub fn action(&self) -> &str {
        self.text.get(..self.colon).unwrap_or_default()
    }

    /// The part after the first `:`.
    pub fn resource(&self) -> &str {
        self.text.get(self.colon + 1..).unwrap_or_default()
    }

    /// The scope as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// A glob where `*` matches any run of characters, including the empty run.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Glob {
    /// The text split at each `*`; one piece means no wildcard.
    pieces: Vec<Box<str>>,
}

impl Glob {
    fn new(text: &str) -> Self {
        Self {
            pieces: text.split('*').map(Box::from).collect(),
        }
    }

    fn matches(&self, text: &str) -> bool {
        let (first, rest) = match self.pieces.split_first() {
            Some(split) => split,
            None => return text.is_empty(),
        };
        let Some((last, middle)) = rest.split_last() else {
            return text == &**first;
        };
        let Some(mut remaining) = text.strip_prefix(&**first) else {
            return false;
        };
        // Leftmost matching of each middle piece is optimal for `*`-only globs.
        for piece in middle {
            match remaining.find(&**piece) {
                Some(at) => remaining = &remaining[at + piece.len()..],
                None => return false,
            }
        }
        remaining.len() >= last.len() && remaining.ends_with(&**last)
    }
}

/// A scope pattern such as `email.send:*@acme.com`.
///
/// The action and resource halves are matched separately; `*` matches any run of characters,
/// including the empty run, `/`, `.`, `:` and `@`.
#[derive(Debug, Clone)]
pub struct ScopePattern {
    text: String,
    action: Glob,
    resource: Glob,
}

impl PartialEq for ScopePattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for ScopePattern {}

impl ScopePattern {
    /// Parses a pattern.
    ///
    /// ```
    /// use agentwarrant::{Scope, ScopePattern};
    /// let pattern = ScopePattern::parse("email.send:*@acme.com")?;
    /// assert!(pattern.matches(&Scope::parse("email.send:bob@acme.com")?));
    /// assert!(!pattern.matches(&Scope::parse("email.send:x@evil.com")?));
    /// # Ok::<(), agentwarrant::ScopeError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        let (action, resource) = split(text)?;
        Ok(Self {
            action: Glob::new(action),
            resource: Glob::new(resource),
            text: text.to_owned(),
        })
    }

    /// Whether `scope` falls under this pattern.
    pub fn matches(&self, scope: &Scope) -> bool {
        self.action.matches(scope.action()) && self.resource.matches(scope.resource())
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// A set of scope patterns; a scope is in the set when any pattern matches it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet {
    patterns: Vec<ScopePattern>,
}

impl ScopeSet {
    /// Parses every pattern, failing on the first invalid one.
    pub fn parse<I, S>(patterns: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let patterns = patterns
            .into_iter()
            .map(|p| ScopePattern::parse(p.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self { patterns })
    }

    /// Whether any pattern matches `scope`.
    pub fn contains(&self, scope: &Scope) -> bool {
        self.patterns.iter().any(|p| p.matches(scope))
    }

    /// Whether any pattern's action part matches `action`, whatever the resource: the set
    /// names that kind of action (the `unimplied_tool` signal).
    pub(crate) fn contains_action(&self, action: &str) -> bool {
        self.patterns.iter().any(|p| p.action.matches(action))
    }

    /// Whether the set holds `scope` itself as a wildcard-free pattern: the set names that
    /// target, rather than covering it with a wildcard (`call.named_scopes`).
    pub(crate) fn names(&self, scope: &Scope) -> bool {
        self.patterns
            .iter()
            .any(|p| p.text == scope.text && !p.text.contains('*'))
    }

    /// Whether any pattern is wildcard-free.
    pub(crate) fn names_any(&self) -> bool {
        self.patterns.iter().any(|p| !p.text.contains('*'))
    }

    /// The patterns, in the order given.
    pub fn patterns(&self) -> &[ScopePattern] {
        &self.patterns
    }

    /// The patterns as strings.
    pub fn to_strings(&self) -> Vec<String> {
        self.patterns.iter().map(|p| p.text.clone()).collect()
    }
}

macro_rules! text_traits {
    ($ty:ident) => {
        impl FromStr for $ty {
            type Err = ScopeError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.text)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.text)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_traits!(Scope);
text_traits!(ScopePattern);

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, scope: &str) -> bool {
        ScopePattern::parse(pattern)
            .unwrap()
            .matches(&Scope::parse(scope).unwrap())
    }

    #[test]
    fn wildcards_match_any_run_including_separators() {
        assert!(m("secrets.read:*", "secrets.read:db/main"));
        assert!(m("secrets.read:db/*", "secrets.read:db/"));
        assert!(m("*:*", "a:b:c"));
        assert!(m("email.*:*@acme.com", "email.send:a.b@acme.com"));
        assert!(m("a:x*y*z", "a:xyz"));
        assert!(!m("a:x*y*z", "a:xzy"));
        assert!(!m("secrets.read:db/*", "secrets.write:db/main"));
        assert!(!m("a:ab*ba", "a:aba"));
    }

    #[test]
    fn scopes_split_at_first_colon_and_reject_whitespace() {
        let scope = Scope::parse("a:b:c").unwrap();
        assert_eq!((scope.action(), scope.resource()), ("a", "b:c"));
        assert!(Scope::parse("nocolon").is_err());
        assert!(Scope::parse(":x").is_err());
        assert!(Scope::parse("a: b").is_err());
        assert!(ScopePattern::parse("a:").is_err());
    }
}
