//! Verification: every line parses, `seq` counts up from 1, each `prev` is the previous
//! `hash`, and each `hash` matches the bytes stored.

use std::path::Path;

use serde_json::Value as Json;

use super::{Record, GENESIS, SCHEMA};
use crate::canonical::sha256_hex;
use crate::error::LedgerError;

/// The last record of a verified ledger: anchor it elsewhere to detect truncation of the tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// How many records the ledger holds.
    pub records: u64,
    /// The last record's hash ([`GENESIS`] for an empty ledger).
    pub hash: String,
}

/// Checks a JSON Lines ledger: every line parses, `seq` counts up from 1, each `prev` is the
/// previous `hash`, and each `hash` matches the record. Names the first broken record.
///
/// A record's `hash` is checked against the bytes of its line as stored, less its `hash`
/// member: for a line the ledger wrote, exactly the canonical JSON it hashed. Any change to
/// those bytes breaks the record, even one that parses to the same value.
///
/// ```
/// use agentwarrant::ledger::verify_str;
/// assert_eq!(verify_str("").unwrap().records, 0);
/// assert!(verify_str("{\"seq\":1}\n").is_err());
/// ```
pub fn verify_str(text: &str) -> Result<Head, (u64, String)> {
    let mut head = Head {
        records: 0,
        hash: GENESIS.to_owned(),
    };
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index as u64 + 1;
        let fail = |problem: String| Err((number, problem));
        let Some(line) = line.strip_suffix('\n') else {
            return fail("the record is cut short (no end of line)".into());
        };
        let mut value: Json = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => return fail(format!("not valid JSON: {e}")),
        };
        let Some(map) = value.as_object_mut() else {
            return fail("not a JSON object".into());
        };
        let hash = match map.remove("hash") {
            Some(Json::String(h)) => h,
            _ => return fail("missing `hash`".into()),
        };
        if map.get("seq").and_then(Json::as_u64) != Some(number) {
            return fail(format!(
                "expected seq {number}: a record was removed, added or moved"
            ));
        }
        if map.get("prev").and_then(Json::as_str) != Some(head.hash.as_str()) {
            return fail("`prev` does not match the previous record's hash".into());
        }
        // SECURITY: hash the stored bytes, never a re-serialization of what they parse to. A
        // re-serialization forgives edits that keep the value (`\u001F` for `\u001f`, `1E9`
        // for `1e9`, a space, a repeated key), and serde_json does not parse every float back
        // exactly, which broke honest records.
        let Some(sealed) = unsealed(line, &hash) else {
            return fail("`hash` is not where the ledger writes it (edited)".into());
        };
        if sha256_hex(sealed.as_bytes()) != hash {
            return fail("the record's content does not match its hash (edited)".into());
        }
        match serde_json::from_value::<Record>(with_hash(value, &hash)) {
            Err(e) => return fail(format!("not a ledger record: {e}")),
            Ok(record) if record.schema > SCHEMA => {
                return fail(format!(
                    "record schema {} is newer than this agentwarrant understands ({SCHEMA}); \
                     verify it with a newer version",
                    record.schema
                ))
            }
            Ok(_) => {}
        }
        head = Head {
            records: number,
            hash,
        };
    }
    Ok(head)
}

/// `line` without its `hash` member, as the sealer hashed it: keys are sorted, so the member
/// follows a comma (or, were it the first key, opens the object).
pub(super) fn unsealed(line: &str, hash: &str) -> Option<String> {
    let member = format!("\"hash\":{}", Json::String(hash.to_owned()));
    if let Some(at) = line.find(&format!(",{member}")) {
        let end = at + 1 + member.len();
        return Some(format!("{}{}", line.get(..at)?, line.get(end..)?));
    }
    let rest = line.strip_prefix(&format!("{{{member}"))?;
    Some(format!("{{{}", rest.strip_prefix(',').unwrap_or(rest)))
}

fn with_hash(mut value: Json, hash: &str) -> Json {
    if let Json::Object(map) = &mut value {
        map.insert("hash".into(), Json::String(hash.to_owned()));
    }
    value
}

/// Verifies a ledger file; see [`verify_str`].
pub fn verify(path: impl AsRef<Path>) -> Result<Head, LedgerError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| LedgerError::io(path, &e))?;
    let text = String::from_utf8(bytes).map_err(|e| LedgerError::Broken {
        path: path.to_owned(),
        line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64,
        problem: "not valid UTF-8".into(),
    })?;
    verify_str(&text).map_err(|(line, problem)| LedgerError::Broken {
        path: path.to_owned(),
        line,
        problem,
    })
}
