//! Scope templates: `email.send:{to:email}`, filled from a call's args.
//!
//! SECURITY: an attacker who controls an argument must never produce a scope that a pattern
//! matches unless the literal value itself falls under it. So a filled value is one literal
//! resource (DESIGN "Templates"): an untyped `{arg}` may not carry `:`, `*`, whitespace,
//! control or format characters, the separators `,` `;` `?` `#` `&`, `%`-escapes, a
//! backslash, or `.`/`..` path segments; a typed placeholder normalises its value first with a
//! well-kept parser and refuses what does not normalise.
//!
//! | placeholder | value | fills in |
//! |---|---|---|
//! | `{arg}` | string, integer, decimal, boolean, or a list of them | the literal, checked as above; decimals in their shortest form (`20.0` is `20`) |
//! | `{to:email}` | one address | `local@domain`, the domain lowercased (IDNA), no trailing dot |
//! | `{path:path}` | a path | `%`-escapes decoded once, `.`/`..` resolved, never above the root |
//! | `{url:url}` | an absolute URL | `scheme://host[:port]/path`, host lowercased; no userinfo, query or fragment |
//! | `{name:text}` | any text | the text with everything but ASCII letters, digits, `-` and `_` `%`-encoded |
//! | `{cc?}`, `{cc?:email}` | optional | absent, `null` or `[]`: this template requires no scope |

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};
use unicode_properties::general_category::{GeneralCategory, UnicodeGeneralCategory};

/// How a placeholder's value is checked and normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One literal, checked.
    Literal,
    /// One email address.
    Email,
    /// A path, resolved.
    Path,
    /// An absolute URL.
    Url,
    /// Any text, encoded.
    Text,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Literal => "literal",
            Kind::Email => "email",
            Kind::Path => "path",
            Kind::Url => "url",
            Kind::Text => "text",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "email" => Kind::Email,
            "path" => Kind::Path,
            "url" => Kind::Url,
            "text" => Kind::Text,
            _ => return None,
        })
    }
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Arg {
        name: String,
        kind: Kind,
        optional: bool,
    },
}

/// A scope with `{arg}` placeholders, parsed once when the tool is declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScopeTemplate {
    text: String,
    pieces: Vec<Piece>,
}

/// Characters `{name:text}` leaves as they are: ASCII letters, digits, `-` and `_`.
const TEXT_KEEPS: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_');

impl ScopeTemplate {
    /// Parses `text`; a malformed placeholder or an unknown type is an error naming it.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err(format!("unmatched `}}` in scope template `{text}`"));
            }
            let close = rest[open..]
                .find('}')
                .map(|at| open + at)
                .ok_or_else(|| format!("unclosed `{{` in scope template `{text}`"))?;
            let inner = &rest[open + 1..close];
            let (head, kind) = match inner.split_once(':') {
                Some((head, kind)) => (
                    head,
                    Kind::parse(kind).ok_or_else(|| {
                        format!(
                            "unknown placeholder type `{kind}` in scope template `{text}`: use \
                             `email`, `path`, `url` or `text`"
                        )
                    })?,
                ),
                None => (inner, Kind::Literal),
            };
            let (name, optional) = match head.strip_suffix('?') {
                Some(name) => (name, true),
                None => (head, false),
            };
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.');
            if !valid {
                return Err(format!(
                    "bad placeholder `{{{inner}}}` in scope template `{text}`"
                ));
            }
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            pieces.push(Piece::Arg {
                name: name.to_owned(),
                kind,
                optional,
            });
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        // The action and the resource are split at the first `:`: it must be the template's
        // own, never one a value brings.
        let literal_colon = pieces
            .iter()
            .any(|p| matches!(p, Piece::Text(t) if t.contains(':')));
        let before_colon = pieces
            .iter()
            .take_while(|p| !matches!(p, Piece::Text(t) if t.contains(':')))
            .any(|p| matches!(p, Piece::Arg { .. }));
        if !literal_colon {
            return Err(format!(
                "scope template `{text}` has no `:` between its action and its resource (e.g. `logs.read:{{service}}`)"
            ));
        }
        if before_colon {
            return Err(format!(
                "scope template `{text}` fills its action from an arg: write the action literally (e.g. `service.restart:{{service}}`)"
            ));
        }
        Ok(Self {
            text: text.to_owned(),
            pieces,
        })
    }

    /// The template as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The arg and the type (`email`, `url`, `text`, `path`, or `literal` when untyped) of the
    /// template's one placeholder; `None` when it has none or several.
    pub(crate) fn sole_placeholder(&self) -> Option<(&str, &'static str)> {
        let mut args = self.pieces.iter().filter_map(|p| match p {
            Piece::Arg { name, kind, .. } => Some((name.as_str(), kind.as_str())),
            Piece::Text(_) => None,
        });
        let sole = args.next()?;
        args.next().is_none().then_some(sole)
    }

    /// The names of the args the template reads.
    pub(crate) fn args(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Arg { name, .. } => Some(name.as_str()),
            Piece::Text(_) => None,
        })
    }

    /// Fills the placeholders; a list arg yields one scope per element, an optional arg that
    /// is absent, `null` or `[]` yields none. `Err` is the `invalid_call` detail.
    pub(crate) fn render(
        &self,
        args: &Map<String, Value>,
        max: usize,
    ) -> Result<Vec<String>, String> {
        let mut out = vec![String::new()];
        for piece in &self.pieces {
            let values = match piece {
                Piece::Text(text) if out.len() <= max => {
                    out.iter_mut().for_each(|prefix| prefix.push_str(text));
                    continue;
                }
                Piece::Text(text) => vec![text.clone()],
                Piece::Arg {
                    name,
                    kind,
                    optional,
                } => {
                    let value = args.get(name).filter(|v| !v.is_null());
                    let empty = value.is_none_or(|v| v.as_array().is_some_and(Vec::is_empty));
                    if empty && *optional {
                        return Ok(Vec::new());
                    }
                    let value = value
                        .ok_or_else(|| format!("missing arg `{name}` for scope `{}`", self.text))?;
                    fill(value, *kind).map_err(|problem| format!("arg `{name}`: {problem}"))?
                }
            };
            if out.len().saturating_mul(values.len()) > max {
                return Err(format!(
                    "scope `{}` expands to more than {max} scopes",
                    self.text
                ));
            }
            if let [value] = values.as_slice() {
                out.iter_mut().for_each(|prefix| prefix.push_str(value));
                continue;
            }
            out = out
                .iter()
                .flat_map(|prefix| values.iter().map(move |v| format!("{prefix}{v}")))
                .collect();
        }
        Ok(out)
    }
}

/// The literals `value` fills in: one, or one per element of a list of scalars.
fn fill(value: &Value, kind: Kind) -> Result<Vec<String>, String> {
    match value {
        Value::Array(items) if items.is_empty() => {
            Err("an empty list fills no scope (mark the placeholder optional: `{name?}`)".into())
        }
        Value::Array(items) => items.iter().map(|item| one(item, kind)).collect(),
        other => one(other, kind).map(|v| vec![v]),
    }
}

/// One scalar's literal.
fn one(value: &Value, kind: Kind) -> Result<String, String> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n)?,
        Value::Array(_) => return Err("a list inside a list fills no scope".into()),
        Value::Object(_) => return Err("an object fills no scope".into()),
        Value::Null => return Err("null fills no scope".into()),
    };
    match kind {
        Kind::Literal => literal(&text).map(|()| text),
        Kind::Email => email(&text),
        Kind::Path => path(&text),
        Kind::Url => url(&text),
        Kind::Text => Ok(utf8_percent_encode(&text, TEXT_KEEPS).to_string()),
    }
}

/// An integer in decimal; any other number in its shortest form (`0.01`; `20.0` is `20`).
fn number(n: &serde_json::Number) -> Result<String, String> {
    if n.is_i64() || n.is_u64() {
        return Ok(n.to_string());
    }
    let f = n
        .as_f64()
        .filter(|f| f.is_finite())
        .ok_or("not a finite number")?;
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        // Exact: an integral f64 below 2^53 is its integer.
        #[expect(clippy::cast_possible_truncation, reason = "integral and below 2^53")]
        return Ok((f as i64).to_string());
    }
    Ok(f.to_string())
}

/// Whether a character may never be part of a literal resource.
fn forbidden(c: char) -> bool {
    matches!(c, ':' | '*' | ',' | ';' | '?' | '#' | '&' | '%' | '\\')
        || c.is_whitespace()
        || c.is_control()
        || c.general_category() == GeneralCategory::Format
}

/// Checks an untyped value: one literal, no separator, no escape, no dot segment.
fn literal(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("an empty value fills no scope".into());
    }
    if let Some(c) = text.chars().find(|c| forbidden(*c)) {
        return Err(format!(
            "`{}` may not appear in a scope value (use a typed placeholder such as `{{name:text}}`)",
            c.escape_default()
        ));
    }
    if text
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(
            "`.` and `..` path segments may not appear in a scope value (use `{name:path}`)".into(),
        );
    }
    Ok(())
}

/// One email address: `local@domain`, the domain lowercased through IDNA.
fn email(text: &str) -> Result<String, String> {
    let (local, domain) = text
        .split_once('@')
        .filter(|(local, domain)| !local.is_empty() && !domain.contains('@') && !domain.is_empty())
        .ok_or("not one email address")?;
    if local
        .chars()
        .any(|c| forbidden(c) || matches!(c, '"' | '<' | '>' | '(' | ')' | '[' | ']' | '/'))
    {
        return Err("not one email address".into());
    }
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    match url::Host::parse(domain) {
        Ok(url::Host::Domain(domain)) if !domain.contains(['*', '%']) => {
            Ok(format!("{local}@{domain}"))
        }
        _ => Err("not one email address (the domain is not a host name)".into()),
    }
}

/// A path with its escapes decoded once and its `.`/`..` segments resolved; never above the
/// root.
fn path(text: &str) -> Result<String, String> {
    let decoded = percent_decode_str(text)
        .decode_utf8()
        .map_err(|_| "the path is not UTF-8 once decoded")?;
    if decoded.chars().any(forbidden) {
        return Err("the path holds a character no scope may (after decoding)".into());
    }
    let absolute = decoded.starts_with('/');
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err("the path leads above its root".into());
                }
            }
            segment => segments.push(segment),
        }
    }
    if segments.is_empty() && !absolute {
        return Err("an empty path fills no scope".into());
    }
    let joined = segments.join("/");
    Ok(if absolute {
        format!("/{joined}")
    } else {
        joined
    })
}

/// An absolute URL as `scheme://host[:port]/path`, through the `url` crate's parser.
fn url(text: &str) -> Result<String, String> {
    let parsed = url::Url::parse(text).map_err(|e| format!("not an absolute URL: {e}"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("a URL with user information fills no scope".into());
    }
    let host = parsed
        .host_str()
        .ok_or("a URL without a host fills no scope")?;
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    let rendered = format!("{}://{host}{port}{}", parsed.scheme(), parsed.path());
    if rendered.contains('*') || rendered.chars().any(char::is_whitespace) {
        return Err("the URL holds a character no scope may".into());
    }
    Ok(rendered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scopes(template: &str, args: Value) -> Result<Vec<String>, String> {
        let args = args.as_object().unwrap().clone();
        ScopeTemplate::parse(template)?.render(&args, 64)
    }

    #[test]
    fn untyped_values_are_one_literal() {
        for bad in [
            "attacker@evil.com,bob@acme.com",
            "x?@acme.com",
            "x#@acme.com",
            "/srv/app/../../etc/shadow",
            "/srv/app/%2e%2e/%2e%2e/etc/shadow",
            "logs.read:x",
            "a*",
            "two words",
            "tab\there",
            "zero\u{200b}width",
            "..",
            ".",
            "",
            "a;b",
            "a&b",
            "c:\\windows",
        ] {
            assert!(scopes("s.x:{v}", json!({"v": bad})).is_err(), "{bad:?}");
        }
        assert_eq!(
            scopes("s.x:{v}", json!({"v": "db/main.v2"})).unwrap(),
            ["s.x:db/main.v2"]
        );
        assert!(scopes("s.x:{v}", json!({"v": []})).is_err());
        assert_eq!(
            scopes("pay:{amount}", json!({"amount": 0.01})).unwrap(),
            ["pay:0.01"]
        );
        assert_eq!(
            scopes("pay:{amount}", json!({"amount": 20.0})).unwrap(),
            ["pay:20"]
        );
    }

    #[test]
    fn typed_values_normalise_first() {
        assert_eq!(
            scopes("email.send:{to:email}", json!({"to": "Bob@ACME.com."})).unwrap(),
            ["email.send:Bob@acme.com"]
        );
        for bad in [
            "a@b@c.com",
            "attacker@evil.com,bob@acme.com",
            "x",
            "a b@c.com",
            "@acme.com",
        ] {
            assert!(
                scopes("email.send:{to:email}", json!({"to": bad})).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            scopes(
                "files.read:{p:path}",
                json!({"p": "/srv/app/./logs/../x%2Ey"})
            )
            .unwrap(),
            ["files.read:/srv/app/x.y"]
        );
        for bad in [
            "/srv/../../etc/shadow",
            "%2e%2e/x",
            "a/%00b",
            "%252e%252e/x",
        ] {
            let result = scopes("files.read:{p:path}", json!({"p": bad}));
            // `%252e` decodes once to `%2e`, which is kept as a literal `%`: refused.
            assert!(result.is_err(), "{bad}: {result:?}");
        }
        assert_eq!(
            scopes(
                "web.fetch:{u:url}",
                json!({"u": "HTTPS://Docs.Example.COM:8443/a/../b?q=1#f"})
            )
            .unwrap(),
            ["web.fetch:https://docs.example.com:8443/b"]
        );
        assert!(scopes(
            "web.fetch:{u:url}",
            json!({"u": "https://user:pw@example.com/"})
        )
        .is_err());
        assert!(scopes("web.fetch:{u:url}", json!({"u": "example.com/x"})).is_err());
        assert_eq!(
            scopes("hotel.reserve:{h:text}", json!({"h": "Le Marais Boutique"})).unwrap(),
            ["hotel.reserve:Le%20Marais%20Boutique"]
        );
        assert_eq!(
            scopes("hotel.reserve:{h:text}", json!({"h": "a*:b"})).unwrap(),
            ["hotel.reserve:a%2A%3Ab"]
        );
    }

    #[test]
    fn optional_placeholders_require_nothing_when_absent() {
        for args in [json!({}), json!({"cc": null}), json!({"cc": []})] {
            assert_eq!(
                scopes("email.send:{cc?:email}", args).unwrap(),
                Vec::<String>::new()
            );
        }
        assert_eq!(
            scopes(
                "email.send:{cc?:email}",
                json!({"cc": ["a@x.com", "b@y.com"]})
            )
            .unwrap(),
            ["email.send:a@x.com", "email.send:b@y.com"]
        );
        assert!(scopes("email.send:{cc:email}", json!({})).is_err());
    }

    #[test]
    fn malformed_placeholders_fail_to_parse() {
        for bad in [
            "a:{}",
            "a:{x",
            "a:x}",
            "a:{x:color}",
            "a:{x y}",
            "a:{?}",
            "logs.read{service}",
            "{service}.restart:prod",
        ] {
            assert!(ScopeTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
