//! Secrets found by their shape: private keys, provider API tokens, bearer tokens, JWTs,
//! passwords in URLs and card numbers are replaced with `[REDACTED:kind]` in what the guard
//! records, whatever the tool spec says. A spec's `sensitive_args` still redact whole args;
//! this catches the secret that arrives in an arg nobody thought sensitive, or in a tool's
//! error message.
//!
//! SECURITY: the detectors are one regular expression run by the `regex` crate (finite
//! automata, no backtracking) that finds where a secret starts, with every repetition
//! bounded; the rest of a secret is taken in one forward pass, and the next search starts
//! after it. A scan so costs time linear in the text for any input: a 10 MB string or
//! binary-looking bytes cannot stall a call. A private key's block is redacted to its `END`
//! line, or to the end of the text when it has none (a key cut short still leaks).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{CaptureLocations, Regex, RegexBuilder};
use serde_json::Value as Json;

use crate::error::BuildError;

/// How a detector's match becomes the span redacted. The expression finds the start of a
/// secret with bounded repetitions only (a small automaton); the rest is taken here, in one
/// forward pass that the next search starts after, so no byte is scanned twice.
#[derive(Clone, Copy)]
enum Tail {
    /// The match (its `v` group, when it has one) as it is.
    Fixed,
    /// The match and the token characters after it.
    Token(fn(u8) -> bool),
    /// The `v` group, not followed by another character of the class.
    Exact(fn(u8) -> bool),
    /// A JWT's payload and signature after `eyJ….eyJ`.
    Jwt,
    /// A private key's block, to its `END` line (or the end of the text).
    KeyBlock,
    /// The password of the URL whose `scheme://` matched, if its authority has one.
    Password,
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
fn word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}
fn base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}
fn dashed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}
fn base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'/' || b == b'+' || b == b'='
}
fn bearer(b: u8) -> bool {
    base64url(b) || matches!(b, b'.' | b'~' | b'+' | b'/' | b'=')
}

/// One detector: the kind named in its marker, the start of its pattern, and how the match
/// ends. `(?-u:\b)` is an ASCII word boundary.
const DETECTORS: &[(&str, &str, Tail)] = &[
    (
        "private_key",
        r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----",
        Tail::KeyBlock,
    ),
    (
        "aws_secret_access_key",
        r#"(?i-u:aws_?secret_?(?:access_?)?key)["']?[ \t]{0,8}[:=][ \t]{0,8}["']?(?P<v>[A-Za-z0-9/+=]{40})"#,
        Tail::Exact(base64),
    ),
    (
        "url_password",
        r"(?-u:\b)[A-Za-z][A-Za-z0-9+.\-]{0,31}://",
        Tail::Password,
    ),
    (
        "bearer_token",
        r"(?i-u:(?-u:\b)bearer)[ \t]{1,8}(?P<v>[A-Za-z0-9._~+/\-]{16})",
        Tail::Token(bearer),
    ),
    ("jwt", r"(?-u:\b)eyJ[A-Za-z0-9_\-]{2,512}\.eyJ", Tail::Jwt),
    (
        "github_token",
        r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22})",
        Tail::Token(word),
    ),
    (
        "slack_token",
        r"(?-u:\b)xox[bpars]-[A-Za-z0-9\-]{10}",
        Tail::Token(dashed),
    ),
    (
        "stripe_key",
        r"(?-u:\b)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16}",
        Tail::Token(alnum),
    ),
    (
        "anthropic_key",
        r"(?-u:\b)sk-ant-[A-Za-z0-9_\-]{20}",
        Tail::Token(base64url),
    ),
    (
        "openai_key",
        r"(?-u:\b)sk-[A-Za-z0-9_\-]{20}",
        Tail::Token(base64url),
    ),
    (
        "google_api_key",
        r"(?-u:\b)AIza[0-9A-Za-z_\-]{35}",
        Tail::Token(base64url),
    ),
    (
        "aws_access_key_id",
        r"(?-u:\b)(?:AKIA|ASIA)[0-9A-Z]{16}(?-u:\b)",
        Tail::Fixed,
    ),
    (
        "card_number",
        r"(?-u:\b)(?:[0-9]{13,19}|[0-9]{4}(?:[ \-][0-9]{4}){3}|[0-9]{4}[ \-][0-9]{6}[ \-][0-9]{4,5})(?-u:\b)",
        Tail::Fixed,
    ),
];

/// The detectors compiled into one expression, and where each one's groups are.
struct Detectors {
    regex: Regex,
    /// Per detector: its kind, its tail, its whole group and its `v` group (if any).
    groups: Vec<(&'static str, Tail, usize, Option<usize>)>,
}

/// Compiled on first use and shared: an immutable table, like a constant.
static DETECTORS_COMPILED: LazyLock<Option<Detectors>> = LazyLock::new(|| {
    let mut pattern = String::new();
    for (index, (_, detector, _)) in DETECTORS.iter().enumerate() {
        if index > 0 {
            pattern.push('|');
        }
        // Each detector's own `v` group gets a unique name.
        let detector = detector.replace("(?P<v>", &format!("(?P<v{index}>"));
        pattern.push_str(&format!("(?P<d{index}>{detector})"));
    }
    let regex = RegexBuilder::new(&pattern).build().ok()?;
    let mut groups = Vec::with_capacity(DETECTORS.len());
    for (index, (kind, _, tail)) in DETECTORS.iter().enumerate() {
        let position = |name: String| regex.capture_names().position(|n| n == Some(&name));
        groups.push((
            *kind,
            *tail,
            position(format!("d{index}"))?,
            position(format!("v{index}")),
        ));
    }
    Some(Detectors { regex, groups })
});

/// Which secrets the guard redacts from its records before they reach the ledger or a
/// `tracing` subscriber: the built-in detectors (on by default) and patterns of your own.
///
/// Every string in a record's args, detail, reasons and outcome error is scanned, and so is
/// the intent's goal; each secret found becomes `[REDACTED:kind]` (e.g.
/// `[REDACTED:github_token]`). The record's `args_digest` still covers the args as given.
///
/// ```
/// use agentwarrant::{Guard, Redaction};
/// let redaction = Redaction::default();
/// assert_eq!(
///     redaction.redact("token ghp_0123456789abcdefghijABCDEFGHIJ012345 for ci"),
///     "token [REDACTED:github_token] for ci"
/// );
/// let custom = Redaction::default().pattern("employee_id", r"\bEMP-[0-9]{6}\b")?;
/// assert_eq!(custom.redact("EMP-004217 asked"), "[REDACTED:employee_id] asked");
/// let guard = Guard::builder().redaction(custom).build()?;
/// # Ok::<(), agentwarrant::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Redaction {
    builtin: bool,
    custom: Vec<(String, Regex)>,
}

impl Default for Redaction {
    /// The built-in detectors, no patterns of your own.
    fn default() -> Self {
        Self {
            builtin: true,
            custom: Vec::new(),
        }
    }
}

impl Redaction {
    /// The kinds the built-in detectors name in their markers.
    pub const BUILTIN_KINDS: &'static [&'static str] = &[
        "private_key",
        "aws_secret_access_key",
        "url_password",
        "bearer_token",
        "jwt",
        "github_token",
        "slack_token",
        "stripe_key",
        "anthropic_key",
        "openai_key",
        "google_api_key",
        "aws_access_key_id",
        "card_number",
    ];

    /// No redaction beyond the tool specs' `sensitive_args`: records keep every other arg as
    /// given. Patterns added afterwards with [`Redaction::pattern`] still apply.
    pub fn off() -> Self {
        Self {
            builtin: false,
            custom: Vec::new(),
        }
    }

    /// Also replaces every match of `pattern` (the `regex` crate's syntax) with
    /// `[REDACTED:kind]`. `kind` is lowercase letters, digits and `_`.
    ///
    /// A pattern of your own is run on its own after the built-in detectors; keep its
    /// repetitions bounded (`{1,64}` rather than `+`) to keep scans of long text fast.
    pub fn pattern(mut self, kind: &str, pattern: &str) -> Result<Self, BuildError> {
        let problem = |problem: String| BuildError::InvalidRedaction {
            kind: kind.to_owned(),
            problem,
        };
        if kind.is_empty()
            || !kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(problem(
                "a kind is lowercase letters, digits and `_`, such as `employee_id`".into(),
            ));
        }
        let regex = RegexBuilder::new(pattern)
            .size_limit(16 << 20)
            .build()
            .map_err(|e| problem(format!("the pattern does not compile: {e}")))?;
        if regex.is_match("") {
            return Err(problem(
                "the pattern matches empty text; it must match the secret itself".into(),
            ));
        }
        self.custom.push((kind.to_owned(), regex));
        Ok(self)
    }

    /// Whether anything is redacted at all.
    pub fn is_enabled(&self) -> bool {
        self.builtin || !self.custom.is_empty()
    }

    /// `text` with every secret found replaced by `[REDACTED:kind]`; borrowed when nothing
    /// was found.
    ///
    /// ```
    /// let redaction = agentwarrant::Redaction::default();
    /// assert_eq!(
    ///     redaction.redact("postgres://app:hunter2@db:5432/main"),
    ///     "postgres://app:[REDACTED:url_password]@db:5432/main"
    /// );
    /// assert_eq!(redaction.redact("https://alice@example.com"), "https://alice@example.com");
    /// ```
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = if self.builtin {
            builtin(text)
        } else {
            Cow::Borrowed(text)
        };
        for (kind, regex) in &self.custom {
            if let Cow::Owned(replaced) = regex.replace_all(&text, marker(kind).as_str()) {
                text = Cow::Owned(replaced);
            }
        }
        text
    }

    /// Redacts a JSON value in place: every string in it, every integer that is a card
    /// number, and the value of a member whose name says it holds an AWS secret key
    /// (`aws_secret_access_key`, `secretAccessKey`, ...).
    ///
    /// ```
    /// let mut args = serde_json::json!({"note": "use sk-ant-api03-abcdefghijklmnopqrstuvwx"});
    /// agentwarrant::Redaction::default().redact_json(&mut args);
    /// assert_eq!(args["note"], "use [REDACTED:anthropic_key]");
    /// ```
    pub fn redact_json(&self, value: &mut Json) {
        self.redact_json_found(value);
    }

    /// [`Redaction::redact_json`], and whether it replaced anything.
    pub(crate) fn redact_json_found(&self, value: &mut Json) -> bool {
        let mut found = false;
        if !self.is_enabled() {
            return found;
        }
        // An explicit stack: a deeply nested value cannot overflow the thread's stack.
        let mut stack = vec![value];
        while let Some(value) = stack.pop() {
            match value {
                Json::String(text) => {
                    if let Cow::Owned(redacted) = self.redact(text) {
                        *text = redacted;
                        found = true;
                    }
                }
                Json::Number(n)
                    if self.builtin && n.as_u64().is_some_and(|n| card_number(&n.to_string())) =>
                {
                    *value = Json::String(marker("card_number"));
                    found = true;
                }
                Json::Array(items) => stack.extend(items.iter_mut()),
                Json::Object(members) => {
                    for (name, member) in members.iter_mut() {
                        if self.builtin && aws_secret_name(name) {
                            if let Json::String(text) = member {
                                if is_aws_secret(text) {
                                    *text = marker("aws_secret_access_key");
                                    found = true;
                                    continue;
                                }
                            }
                        }
                        stack.push(member);
                    }
                }
                _ => {}
            }
        }
        found
    }

    /// What [`Redaction::redact_json`] puts in place of a member `name` holding the string
    /// `text` when the member as a whole is an AWS secret key; `None` when the string is
    /// scanned as any other.
    pub(crate) fn secret_member(&self, name: &str, text: &str) -> Option<String> {
        (self.builtin && aws_secret_name(name) && is_aws_secret(text))
            .then(|| marker("aws_secret_access_key"))
    }

    /// What [`Redaction::redact_json`] puts in place of the number `n` when it is a card
    /// number; `None` when it stays.
    pub(crate) fn secret_number(&self, n: &serde_json::Number) -> Option<String> {
        (self.builtin && n.as_u64().is_some_and(|n| card_number(&n.to_string())))
            .then(|| marker("card_number"))
    }

    /// Redacts a string in place.
    pub fn redact_string(&self, text: &mut String) {
        if let Cow::Owned(redacted) = self.redact(text) {
            *text = redacted;
        }
    }
}

/// `[REDACTED:kind]`.
fn marker(kind: &str) -> String {
    format!("[REDACTED:{kind}]")
}

/// The built-in detectors over `text`.
fn builtin(text: &str) -> Cow<'_, str> {
    let Some(detectors) = DETECTORS_COMPILED.as_ref() else {
        // SECURITY: never reached (the table compiles, a test pins it); were it not to,
        // nothing unscanned is recorded.
        return Cow::Owned(marker("unscanned"));
    };
    // Most strings hold no secret: a search without captures tells, before the capture slots
    // are allocated for the first match.
    if detectors.regex.find(text).is_none() {
        return Cow::Borrowed(text);
    }
    let mut locations = detectors.regex.capture_locations();
    let mut out = String::new();
    let mut copied = 0;
    let mut at = 0;
    // Whether a private key's `END` line was looked for and not found: then none follows.
    let mut no_footer = false;
    while at < text.len() {
        let Some(found) = detectors.regex.captures_read_at(&mut locations, text, at) else {
            break;
        };
        let (kind, span, scanned) = secret(detectors, &locations, text, &mut no_footer);
        if let Some((start, end)) = span {
            out.push_str(text.get(copied..start).unwrap_or_default());
            out.push_str(&marker(kind));
            copied = end;
        }
        at = next_boundary(text, found.end().max(scanned).max(at + 1));
    }
    if out.is_empty() {
        return Cow::Borrowed(text);
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    Cow::Owned(out)
}

/// The first char boundary at or after `at`.
fn next_boundary(text: &str, mut at: usize) -> usize {
    while at < text.len() && !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// The end of the run of `class` bytes from `at`.
fn run(text: &str, at: usize, class: fn(u8) -> bool) -> usize {
    at + text
        .as_bytes()
        .get(at..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| class(**b))
        .count()
}

/// The detector that matched, the span to redact if the match is a secret, and how far the
/// text was scanned to decide (the next search starts there).
fn secret(
    detectors: &Detectors,
    locations: &CaptureLocations,
    text: &str,
    no_footer: &mut bool,
) -> (&'static str, Option<(usize, usize)>, usize) {
    let Some((kind, tail, whole, value)) = detectors
        .groups
        .iter()
        .find(|(_, _, whole, _)| locations.get(*whole).is_some())
    else {
        return ("", None, 0);
    };
    let Some((start, end)) = value
        .and_then(|v| locations.get(v))
        .or_else(|| locations.get(*whole))
    else {
        return (kind, None, 0);
    };
    let bytes = text.as_bytes();
    let (span, scanned) = match *tail {
        Tail::Fixed => (Some((start, end)), end),
        Tail::Token(class) => {
            let end = run(text, end, class);
            (Some((start, end)), end)
        }
        Tail::Exact(class) => {
            let followed = bytes.get(end).is_some_and(|b| class(*b));
            ((!followed).then_some((start, end)), run(text, end, class))
        }
        Tail::Jwt => {
            let mut end = run(text, end, base64url);
            if bytes.get(end) == Some(&b'.') {
                end = run(text, end + 1, base64url);
            }
            (Some((start, end)), end)
        }
        Tail::KeyBlock => {
            let footer = if *no_footer {
                None
            } else {
                key_footer_end(text, end)
            };
            *no_footer = footer.is_none();
            let end = footer.unwrap_or(text.len());
            (Some((start, end)), end)
        }
        Tail::Password => url_password(text, end),
    };
    let span = span.filter(|(start, end)| {
        let found = text.get(*start..*end).unwrap_or_default();
        match *kind {
            "card_number" => card_number(found),
            "openai_key" => looks_random(found.get(3..).unwrap_or_default()),
            _ => true,
        }
    });
    (kind, span, scanned)
}

/// The password in the authority of a URL whose `scheme://` ends at `from`
/// (`user:password@host`), and where the authority ends. A URL with a user and no
/// password, or with a port and no user, has none.
fn url_password(text: &str, from: usize) -> (Option<(usize, usize)>, usize) {
    // An authority ends at the path, query, fragment or the end of the word; capped so that
    // a `://` in a long run costs a bounded scan.
    let authority_end = from
        + text
            .as_bytes()
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take(1024)
            .take_while(|b| {
                !matches!(b, b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'`')
                    && !b.is_ascii_whitespace()
            })
            .count();
    let authority = text.get(from..authority_end).unwrap_or_default();
    let password = authority.rfind('@').and_then(|at| {
        let colon = authority.get(..at)?.find(':')?;
        (colon + 1 < at).then_some((from + colon + 1, from + at))
    });
    (password, authority_end)
}

/// Where the `-----END … PRIVATE KEY-----` line after `from` ends, if there is one.
fn key_footer_end(text: &str, from: usize) -> Option<usize> {
    let rest = text.get(from..)?;
    let end = rest.find("-----END")?;
    let after = rest.get(end + "-----END".len()..)?;
    let close = after.find("PRIVATE KEY")?;
    let tail = after.get(close + "PRIVATE KEY".len()..)?;
    let dashes = tail.len()
        - tail
            .trim_start_matches(" BLOCK")
            .trim_start_matches('-')
            .len();
    Some(from + end + "-----END".len() + close + "PRIVATE KEY".len() + dashes)
}

/// Whether `digits` (with spaces or hyphens) is a card number: 13 to 19 digits, the prefix of
/// a card network (2, 3, 4, 5 or 6) and a valid Luhn checksum.
fn card_number(digits: &str) -> bool {
    let digits: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) || !matches!(digits.first(), Some(2..=6)) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2 == 1, d * 2) {
            (true, doubled) if doubled > 9 => doubled - 9,
            (true, doubled) => doubled,
            (false, _) => d,
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether a token has the mix of a random key (a digit, a capital and a small letter), so
/// that `sk-` before hyphenated prose (`sk-learn-compatible-estimator`) is left alone.
fn looks_random(token: &str) -> bool {
    token.bytes().any(|b| b.is_ascii_digit())
        && token.bytes().any(|b| b.is_ascii_uppercase())
        && token.bytes().any(|b| b.is_ascii_lowercase())
}

/// Whether a JSON member's name says it holds an AWS secret key.
fn aws_secret_name(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    matches!(
        folded.as_str(),
        "awssecretaccesskey" | "awssecretkey" | "secretaccesskey"
    )
}

/// Whether a string has the shape of an AWS secret access key (40 base64 characters).
fn is_aws_secret(text: &str) -> bool {
    text.len() == 40
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+' || b == b'=')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_detectors_compile_and_name_every_kind() {
        let detectors = DETECTORS_COMPILED.as_ref().unwrap();
        let kinds: Vec<&str> = detectors.groups.iter().map(|(k, _, _, _)| *k).collect();
        assert_eq!(kinds, Redaction::BUILTIN_KINDS);
    }

    #[test]
    fn luhn() {
        assert!(card_number("4111 1111 1111 1111"));
        assert!(card_number("378282246310005"));
        assert!(!card_number("4111111111111112"));
        assert!(!card_number("1111111111111117")); // no card network starts with 1
    }

    #[test]
    fn a_key_block_without_its_end_is_redacted_to_the_end() {
        let text = "x -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0";
        assert_eq!(
            Redaction::default().redact(text),
            "x [REDACTED:private_key]"
        );
    }
}
