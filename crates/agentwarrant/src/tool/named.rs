//! Targets the user named: scopes proposed for a task's intent from the literals in the user's
//! request (addresses, URLs, account numbers, quoted names), each filled into the tool scope
//! templates whose placeholder takes that kind of value.
//!
//! A target the user typed is the user's choice; one the agent picked after reading untrusted
//! content may be an attacker's (DESIGN "Modeling tools"). An intent that names its targets
//! with literal, wildcard-free scopes lets the policy tell the two apart.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::ToolSpec;

/// A scope a user's request names, proposed for the task's intent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NamedScope {
    /// The scope, filled and normalised by the tool's template (`email.send:bob@acme.com`).
    pub scope: String,
    /// The tool whose template it fills.
    pub tool: String,
    /// The literal of the request it was made from, as written.
    pub literal: String,
}

/// Quoted text of more words than this is a message, not a name.
const MAX_NAME_WORDS: usize = 6;

/// A run of fewer digits than this is a year, an amount or a count, not an account number.
const MIN_ACCOUNT_DIGITS: usize = 8;

/// Whether `text` is a date written `YYYY-MM-DD`.
fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    matches!(parts.as_slice(), [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2)
}

/// What a literal of the request looks like, and so which placeholders it may fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Email,
    Url,
    /// An account or reference number: an IBAN, or a run of 8 digits or more (dashes
    /// allowed) that is not a date.
    Account,
    /// Text in quotes: a name, a title.
    Quoted,
}

impl Class {
    /// Whether a literal of this class may fill a placeholder of type `kind`.
    fn fills(self, kind: &str) -> bool {
        matches!(
            (self, kind),
            (Class::Email, "email")
                | (Class::Url, "url")
                | (Class::Account, "literal" | "text")
                | (Class::Quoted, "text")
        )
    }
}

/// The literals of `request`, in order of appearance, each once.
fn literals(request: &str) -> Vec<(Class, String)> {
    static PATTERN: OnceLock<Option<Regex>> = OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        Regex::new(concat!(
            r#"(?P<url>\b(?:https?://|www\.)[^\s"'<>()\[\]{}]+)"#,
            r#"|(?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"#,
            r#"|"(?P<dq>[^"\n]{1,200})"|“(?P<cq>[^”\n]{1,200})”|(?:^|[\s(])'(?P<sq>[^'\n]{1,200})'"#,
            r#"|(?P<iban>\b[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}\b)"#,
            r#"|(?P<number>\b[0-9][0-9-]{2,}[0-9]\b)"#,
        ))
        .ok()
    });
    let Some(pattern) = pattern else {
        return Vec::new();
    };
    let mut found: Vec<(Class, String)> = Vec::new();
    for captures in pattern.captures_iter(request) {
        let (class, text) = if let Some(m) = captures.name("url") {
            // A sentence's punctuation is not part of the URL it ends, nor is the next
            // sentence run into it ("www.example.com.They wrote").
            let url = m.as_str();
            let next_sentence = |rest: &str| {
                rest.starts_with(|n: char| n.is_ascii_uppercase()) && !rest.contains(['.', '/'])
            };
            let url = url
                .char_indices()
                .find(|&(i, c)| c == '.' && next_sentence(&url[i + 1..]))
                .map_or(url, |(i, _)| &url[..i])
                .trim_end_matches(['.', ',', ';', ':', '!', '?']);
            if url.contains('@') {
                continue; // the domain of an address
            }
            match url.strip_prefix("www.") {
                Some(_) => (Class::Url, format!("https://{url}")),
                None => (Class::Url, url.to_owned()),
            }
        } else if let Some(m) = captures.name("email") {
            (Class::Email, m.as_str().trim_end_matches('.').to_owned())
        } else if let Some(m) = ["dq", "cq", "sq"].iter().find_map(|n| captures.name(n)) {
            let quoted = m.as_str().trim();
            // Quoted text of many words is a message to write, and a `{placeholder}` a
            // template to fill in: neither names a target.
            if quoted.split_whitespace().count() > MAX_NAME_WORDS || quoted.contains('{') {
                continue;
            }
            // An address or a URL in quotes is still an address or a URL.
            match literals(quoted).as_slice() {
                [(class @ (Class::Email | Class::Url), text)]
                    if !quoted.contains(char::is_whitespace) =>
                {
                    (*class, text.clone())
                }
                _ => (Class::Quoted, quoted.to_owned()),
            }
        } else if let Some(m) = captures.name("iban") {
            (Class::Account, m.as_str().to_owned())
        } else if let Some(m) = captures.name("number") {
            // An account or reference number, not a year, an amount, a time or a date.
            let number = m.as_str();
            let digits = number.chars().filter(char::is_ascii_digit).count();
            if digits < MIN_ACCOUNT_DIGITS || is_date(number) {
                continue;
            }
            (Class::Account, number.to_owned())
        } else {
            continue;
        };
        let literal = (class, text);
        if !literal.1.is_empty() && !found.contains(&literal) {
            found.push(literal);
        }
    }
    found
}

/// Proposes the scopes a user's `request` names for `tools`: each literal of the request (an
/// email address, a URL, an IBAN or account number, a quoted name) filled into every scope
/// template with one placeholder of a type that takes it (`{to:email}` an address, `{url:url}`
/// a URL (`www.` ones as `https://`), `{name:text}` a quoted name of at most six words or a
/// number, an untyped `{id}` a number),
/// normalised as a call's args would be. Literals that no template takes, or that a template
/// refuses, propose nothing.
///
/// Review the proposal and put what the user meant into the intent: these literal scopes are
/// the targets the user named, which the policy can tell from targets the agent chose.
///
/// ```
/// use agentwarrant::{propose_named_scopes, Impact, ToolSpec};
/// let send = ToolSpec::builder("send_money", Impact::High)
///     .scope("bank.transfer:{recipient}")
///     .build()?;
/// let mail = ToolSpec::builder("send_email", Impact::Medium)
///     .scope("email.send:{to:email}")
///     .build()?;
/// let request = "Pay the invoice to GB29NWBK60161331926819 and tell Bob@Example.COM it's done.";
/// let named: Vec<String> = propose_named_scopes(request, &[send, mail])
///     .into_iter()
///     .map(|n| n.scope)
///     .collect();
/// assert_eq!(
///     named,
///     [
///         "bank.transfer:GB29NWBK60161331926819",
///         "email.send:Bob@example.com", // `{to:email}` lowercases the domain
///     ]
/// );
/// # Ok::<(), agentwarrant::BuildError>(())
/// ```
pub fn propose_named_scopes(request: &str, tools: &[ToolSpec]) -> Vec<NamedScope> {
    let literals = literals(request);
    let mut named: Vec<NamedScope> = Vec::new();
    for (class, literal) in &literals {
        for tool in tools {
            for template in &tool.scopes {
                let Some((arg, kind)) = template.sole_placeholder() else {
                    continue;
                };
                if !class.fills(kind) {
                    continue;
                }
                let args = Map::from_iter([(arg.to_owned(), Value::String(literal.clone()))]);
                for scope in template.render(&args, 1).unwrap_or_default() {
                    if !named.iter().any(|n| n.scope == scope) {
                        named.push(NamedScope {
                            scope,
                            tool: tool.name.clone(),
                            literal: literal.clone(),
                        });
                    }
                }
            }
        }
    }
    named
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_found_once_in_order_without_trailing_punctuation() {
        let found = literals(
            "Email alice@acme.com the page https://blog.example.com/a?b=1. \
             Book \"Le Marais Boutique\", ref 2024-0042, then alice@acme.com again; \
             see www.example.org.They wrote on https://Docs.Example.com/Q3.html \
             and \"please write a long reply to every one of them\" \
             and \"{name}\"; her address is 'sarah@example.net', on 2024-05-19 \
             at 12:00, 1234 points, 2025 budget, account 12345678.",
        );
        assert_eq!(
            found,
            [
                (Class::Email, "alice@acme.com".to_owned()),
                (Class::Url, "https://blog.example.com/a?b=1".to_owned()),
                (Class::Quoted, "Le Marais Boutique".to_owned()),
                (Class::Account, "2024-0042".to_owned()),
                (Class::Url, "https://www.example.org".to_owned()),
                (Class::Url, "https://Docs.Example.com/Q3.html".to_owned()),
                (Class::Email, "sarah@example.net".to_owned()),
                (Class::Account, "12345678".to_owned()),
            ]
        );
    }

    #[test]
    fn a_request_without_literals_proposes_nothing() {
        assert!(literals("summarise my inbox").is_empty());
        assert!(propose_named_scopes("", &[]).is_empty());
    }
}
