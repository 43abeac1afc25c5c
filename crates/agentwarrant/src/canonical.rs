//! Canonical JSON (object keys sorted, no insignificant whitespace), its string escaper, and
//! SHA-256 in lowercase hex: the bytes that ledger hashes, digests and signatures are made of.

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

/// A SHA-256 in lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hex([u8; 64]);

impl std::fmt::Debug for Hex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Hex {
    pub(crate) const ZERO: Hex = Hex([b'0'; 64]);

    pub(crate) fn of(digest: &[u8]) -> Self {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'0'; 64];
        for (pair, byte) in out.chunks_exact_mut(2).zip(digest) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0xf)];
        }
        Self(out)
    }

    /// The hex text, if `text` is one (what `prev` resumes from).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let bytes: [u8; 64] = text.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            .then_some(Self(bytes))
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    pub(crate) fn as_str(&self) -> &str {
        // INVARIANT: only ASCII hex digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Appends a JSON string exactly as serde_json writes it.
///
/// That is: quote and backslash escaped, the control characters below 0x20 as `\b`, `\t`,
/// `\n`, `\f`, `\r` or `\u00xx` (lowercase hex), everything else (DEL and all non-ASCII
/// included) as is. Runs of bytes that need nothing are found eight at a time and copied whole.
pub(crate) fn string(out: &mut Vec<u8>, text: &str) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    /// Whether any byte of `word` is below 0x20, `"` or `\\` (may say yes for a byte that is
    /// not, after one that is: the chunk is then looked at byte by byte).
    fn special(word: u64) -> bool {
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
        let below = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
        below | zero(word ^ (ONES * u64::from(b'"'))) | zero(word ^ (ONES * u64::from(b'\\'))) != 0
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + 8) {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            if !special(u64::from_le_bytes(word)) {
                i += 8;
                continue;
            }
        }
        let end = (i + 8).min(bytes.len());
        while i < end {
            let byte = bytes[i];
            let unicode: [u8; 6];
            let escape: &[u8] = match byte {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                0x08 => b"\\b",
                0x09 => b"\\t",
                0x0a => b"\\n",
                0x0c => b"\\f",
                0x0d => b"\\r",
                0x00..=0x1f => {
                    unicode = [
                        b'\\',
                        b'u',
                        b'0',
                        b'0',
                        HEX[usize::from(byte >> 4)],
                        HEX[usize::from(byte & 0xf)],
                    ];
                    &unicode
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(escape);
            i += 1;
            start = i;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Canonical JSON: object keys sorted, no insignificant whitespace.
pub fn canonical_json(value: &Json) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out);
    out
}

/// Whether serde_json's maps iterate in key order in this build: true unless a crate in the
/// build enables serde_json's `preserve_order` feature (a fact of the compiled program, found
/// once).
fn maps_iterate_sorted() -> bool {
    static SORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SORTED.get_or_init(|| {
        let mut probe = serde_json::Map::new();
        probe.insert("b".into(), Json::Null);
        probe.insert("a".into(), Json::Null);
        probe.keys().next().is_some_and(|first| first == "a")
    })
}

/// Appends the canonical JSON of `value` to `out`.
pub(crate) fn write_canonical(value: &Json, out: &mut Vec<u8>) {
    fn entry(out: &mut Vec<u8>, i: usize, key: &str, value: &Json) {
        if i > 0 {
            out.push(b',');
        }
        string(out, key);
        out.push(b':');
        write_canonical(value, out);
    }
    match value {
        Json::Object(map) => {
            out.push(b'{');
            // serde_json's map is a BTreeMap (sorted) unless a crate in the build enables its
            // `preserve_order` feature: sort only when the keys are not already in order.
            if maps_iterate_sorted() || map.keys().zip(map.keys().skip(1)).all(|(a, b)| a < b) {
                for (i, (key, value)) in map.iter().enumerate() {
                    entry(out, i, key, value);
                }
            } else {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                for (i, (key, value)) in entries.into_iter().enumerate() {
                    entry(out, i, key, value);
                }
            }
            out.push(b'}');
        }
        Json::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Json::String(text) => string(out, text),
        scalar => {
            // Scalars serialize infallibly.
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

/// `bytes` in lowercase hex.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a hex text (either case), if it is one.
pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Hex::of(&Sha256::digest(bytes)).as_str().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The string escaper writes what serde_json writes, for every ASCII byte, at every offset
    /// in and across its eight-byte chunks, and for non-ASCII text.
    #[test]
    fn strings_are_escaped_exactly_as_serde_json_escapes_them() {
        let mut texts: Vec<String> = Vec::new();
        for byte in 0u8..=0x7f {
            for offset in 0..17 {
                let mut text = "a".repeat(offset);
                text.push(char::from(byte));
                text.push_str("tail");
                texts.push(text);
            }
        }
        texts.push(String::new());
        texts.push("café — 😀 \u{1f}\u{7f}\"\\ 日本語 mixed\n".repeat(5));
        texts.push("\u{0}".repeat(20));
        for text in &texts {
            let mut ours = Vec::new();
            string(&mut ours, text);
            assert_eq!(ours, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }

    /// The hex of a digest is the digest crate's own lowercase hex.
    #[test]
    fn sha256_hex_is_the_lowercase_hex_of_the_digest() {
        for bytes in [&b""[..], b"abc", &[0xff; 200]] {
            assert_eq!(sha256_hex(bytes), format!("{:x}", Sha256::digest(bytes)));
        }
    }
}
