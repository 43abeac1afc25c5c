//! Ledger records of a task, and their mirror as `tracing` events.

use serde_json::Value as Json;

use super::validate::Examined;
use super::TaskInner;
use crate::canonical::{string, write_canonical};
use crate::clock::rfc3339;
use crate::error::LedgerError;
use crate::ids::CallId;
use crate::ledger::{DecisionRecord, OutcomeRecord, Record, RecordKind, RecordedInput};
use crate::redact::Redaction;
use crate::tool::{ToolCall, ToolSpec};

/// The call-specific fields of a ledger record; the task fills in the rest.
#[derive(Default)]
pub(crate) struct CallFields {
    pub(crate) call_id: Option<CallId>,
    pub(crate) parent: Option<CallId>,
    pub(crate) tool: Option<String>,
    pub(crate) args: Option<Json>,
    pub(crate) args_digest: Option<String>,
    pub(crate) decision: Option<DecisionRecord>,
    pub(crate) approver: Option<Vec<String>>,
    pub(crate) outcome: Option<OutcomeRecord>,
    pub(crate) detail: Option<Json>,
    /// The decision's input, redacted as it was converted (see [`InputMemo::recorded`]): it
    /// becomes `decision.input` with the record's args, once those are redacted.
    pub(crate) input: Option<PendingInput>,
    /// The canonical JSON of `args` as the call gave them, when no arg is sensitive: the
    /// recorded input copies it if redaction leaves the args unchanged too.
    pub(crate) args_text: Option<Vec<u8>>,
}

impl CallFields {
    /// Fields of a record that is about the task, not a call: only a `detail`.
    pub(crate) fn detail(detail: Json) -> Self {
        Self {
            detail: Some(detail),
            ..Self::default()
        }
    }

    /// The fields naming `call`: its id, parent, tool, args (redacted) and their digest.
    ///
    /// SECURITY: the args of an unknown or malformed call (`examined` is `None`) are not
    /// recorded, only their digest.
    pub(crate) fn of_call(call_id: CallId, call: &ToolCall, examined: Option<&Examined>) -> Self {
        Self {
            call_id: Some(call_id),
            parent: call.parent,
            tool: Some(call.tool.clone()),
            args: examined.and_then(|e| call.args.as_object().map(|a| e.spec.redact(a))),
            args_digest: Some(examined.map_or_else(
                || crate::canonical::sha256_hex(&crate::canonical::canonical_json(&call.args)),
                |e| e.args_digest.clone(),
            )),
            ..Self::default()
        }
    }
}

/// Most shared parts of the policy input a task remembers: its identity, task, grant and
/// tool specs, the chain's lists and history entries, with room to spare. At most 56 entries
/// fit a table of 64 buckets; one more would double it.
const MEMO_PARTS: usize = 56;

/// How many parts the memo holds before it lets go of those no document holds any longer (a
/// history entry that left the window, a grant of an earlier second): few enough that they
/// do not add up to much of a task's memory.
const PRUNE_AT: usize = 40;

/// Builds the hasher of [`InputMemo`]: its keys are addresses, already spread out.
#[derive(Default)]
struct AddressHasher(u64);

impl std::hash::Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 << 8 | u64::from(*byte)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64 >> 4).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// The shared parts of a task's policy inputs as recorded, by the address of the regorus value
/// (the identity, the task, the grant, each tool's spec, the chain's lists and history
/// entries: the task builds each once and hands out the same value to every document). A
/// part found clean once is kept as its canonical text and copied into later records; a part
/// that holds a secret is kept as a mark, and converted and redacted again each time.
///
/// INVARIANT: each entry holds a weak reference to its regorus value, which keeps the value's
/// allocation (not its contents), so its address cannot be reused by another value while the
/// entry exists; and a shared regorus value never changes (a change copies it first): the
/// same address of a live value is the same content.
#[derive(Default)]
pub(crate) struct InputMemo {
    parts: Parts,
}

impl std::fmt::Debug for InputMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputMemo")
            .field("parts", &self.parts.len())
            .finish()
    }
}

/// The address of a shared array or object (one another owner holds too), the parts worth
/// keeping converted: an empty one (the task shares one empty array) costs less to write.
fn shared(value: &regorus::Value) -> Option<usize> {
    match value {
        regorus::Value::Array(a) if regorus::Rc::strong_count(a) > 1 && !a.is_empty() => {
            Some(regorus::Rc::as_ptr(a) as *const u8 as usize)
        }
        regorus::Value::Object(o) if regorus::Rc::strong_count(o) > 1 && !o.is_empty() => {
            Some(regorus::Rc::as_ptr(o) as *const u8 as usize)
        }
        _ => None,
    }
}

/// The memo's table: a part's address, a weak reference holding its allocation, and its text.
type Parts =
    std::collections::HashMap<usize, (Kept, Clean), std::hash::BuildHasherDefault<AddressHasher>>;

/// A shared part's canonical text when it holds no secret; `None` when it does.
type Clean = Option<Box<[u8]>>;

/// A weak reference to a shared part: its allocation, not its contents.
type Kept = std::sync::Weak<dyn std::any::Any + Send + Sync>;

/// A weak reference to `value`, when it is an array or an object.
fn kept(value: &regorus::Value) -> Option<Kept> {
    match value {
        regorus::Value::Array(a) => Some(regorus::Rc::downgrade(a) as Kept),
        regorus::Value::Object(o) => Some(regorus::Rc::downgrade(o) as Kept),
        _ => None,
    }
}

impl InputMemo {
    /// `input` (a policy input document) as a record keeps it: canonical JSON of what regorus
    /// serializes, every string redacted as [`Redaction::redact_json`] redacts it, and room
    /// for `call.args`, which the record's own args (redacted) fill. `None` when regorus could
    /// not serialize it.
    pub(crate) fn recorded(
        &mut self,
        input: &regorus::Value,
        redaction: &Redaction,
    ) -> Option<PendingInput> {
        let mut walk = Walk {
            memo: self,
            redaction,
            enabled: redaction.is_enabled(),
            holds_shared: false,
            found: 0,
            out: Vec::with_capacity(4096),
        };
        let mut args_at = None;
        match input {
            regorus::Value::Object(top) if string_keys(top) => {
                walk.out.push(b'{');
                let mut written = 0;
                for (key, value) in top.iter_sorted() {
                    let key = key_text(key);
                    walk.member_name(&mut written, key);
                    match value {
                        regorus::Value::Object(call) if key == "call" && string_keys(call) => {
                            args_at = Some(walk.call(call)?);
                        }
                        _ => walk.member(key, value)?,
                    }
                }
                walk.out.push(b'}');
            }
            _ => walk.exact(input)?,
        }
        Some(PendingInput {
            text: walk.out,
            args_at,
        })
    }
}

/// A decision's input converted for its record, waiting for the record's args.
pub(crate) struct PendingInput {
    text: Vec<u8>,
    /// Where the value of `call.args` goes in `text`.
    args_at: Option<usize>,
}

impl PendingInput {
    /// The recorded input, with `args` (the record's, redacted) as its `call.args`; `text`,
    /// when given, is their canonical JSON already written.
    pub(crate) fn finish(mut self, args: Option<&Json>, text: Option<&[u8]>) -> RecordedInput {
        if let Some(at) = self.args_at.filter(|at| *at <= self.text.len()) {
            let mut written = Vec::new();
            let value: &[u8] = match (text, args) {
                (Some(text), _) => text,
                (None, Some(args)) => {
                    write_canonical(args, &mut written);
                    &written
                }
                (None, None) => b"null",
            };
            // Shifts the tail and copies the args in (a splice would go byte by byte).
            let end = self.text.len();
            self.text.resize(end + value.len(), 0);
            self.text.copy_within(at..end, at + value.len());
            self.text[at..at + value.len()].copy_from_slice(value);
        }
        RecordedInput::from_canonical(self.text)
    }
}

/// Whether every key of `object` is a string (as JSON needs).
fn string_keys(object: &regorus::value::Object) -> bool {
    object
        .keys_sorted()
        .all(|key| matches!(key, regorus::Value::String(_)))
}

/// The text of a key `string_keys` vouched for.
fn key_text(key: &regorus::Value) -> &str {
    match key {
        regorus::Value::String(text) => text,
        _ => "",
    }
}

/// One conversion of a document for its record, written as canonical JSON.
struct Walk<'a> {
    memo: &'a mut InputMemo,
    redaction: &'a Redaction,
    enabled: bool,
    /// Whether the value being converted holds a shared part.
    holds_shared: bool,
    /// How many secrets the detectors found so far (a part that adds none is clean).
    found: usize,
    out: Vec<u8>,
}

impl Walk<'_> {
    /// The `call` member: every member but `args`, whose place (in key order, present or
    /// not) is returned for the record's args.
    fn call(&mut self, call: &regorus::value::Object) -> Option<usize> {
        self.out.push(b'{');
        let mut args_at = None;
        let mut written = 0;
        for (name, member) in call.iter_sorted() {
            let name = key_text(name);
            if args_at.is_none() && name >= "args" {
                args_at = Some(self.member_name(&mut written, "args"));
                if name == "args" {
                    continue;
                }
            }
            self.member_name(&mut written, name);
            self.member(name, member)?;
        }
        let at = match args_at {
            Some(at) => at,
            None => self.member_name(&mut written, "args"),
        };
        self.out.push(b'}');
        Some(at)
    }

    /// `"name":` as the next member of an object with `written` members so far; where its
    /// value goes.
    fn member_name(&mut self, written: &mut usize, name: &str) -> usize {
        if *written > 0 {
            self.out.push(b',');
        }
        *written += 1;
        string(&mut self.out, name);
        self.out.push(b':');
        self.out.len()
    }

    /// What regorus's own serialization makes of `value`, redacted: for what the fast path
    /// does not convert itself (sets, floats, big numbers, non-string keys, undefined).
    fn exact(&mut self, value: &regorus::Value) -> Option<()> {
        let mut json = serde_json::to_value(value).ok()?;
        if self.enabled {
            let before = json.clone();
            self.redaction.redact_json(&mut json);
            self.found += usize::from(json != before);
        }
        write_canonical(&json, &mut self.out);
        Some(())
    }

    /// The member `name` of an object.
    fn member(&mut self, name: &str, value: &regorus::Value) -> Option<()> {
        if let regorus::Value::String(text) = value {
            if self.enabled {
                if let Some(marker) = self.redaction.secret_member(name, text) {
                    self.found += 1;
                    string(&mut self.out, &marker);
                    return Some(());
                }
            }
        }
        self.value(value)
    }

    fn value(&mut self, value: &regorus::Value) -> Option<()> {
        let Some(address) = shared(value) else {
            return self.convert(value);
        };
        if let Some((_, clean)) = self.memo.parts.get(&address) {
            self.holds_shared = true;
            return match clean {
                Some(text) => {
                    self.out.extend_from_slice(text);
                    Some(())
                }
                None => self.convert(value),
            };
        }
        self.holds_shared = false;
        let (found, start) = (self.found, self.out.len());
        let written = self.convert(value);
        // A part made of other shared parts (the history's list of entries) is a new list
        // more often than not: its entries are kept, not the list.
        let composite = std::mem::replace(&mut self.holds_shared, true);
        written?;
        if composite {
            return Some(());
        }
        let clean = (self.found == found).then(|| self.out[start..].into());
        let parts = &mut self.memo.parts;
        if parts.len() >= PRUNE_AT {
            // Parts no document holds any longer go first; the rest only when all are still
            // in use.
            parts.retain(|_, (kept, _)| kept.strong_count() > 0);
            if parts.len() >= MEMO_PARTS {
                parts.clear();
            }
        }
        if parts.len() == parts.capacity() {
            // No room left, counting the markers removals leave: a new table of the final
            // size, where an insertion would double the table instead.
            let mut table = Parts::with_capacity_and_hasher(MEMO_PARTS, Default::default());
            table.extend(parts.drain());
            *parts = table;
        }
        if let Some(kept) = kept(value) {
            parts.insert(address, (kept, clean));
        }
        Some(())
    }

    fn convert(&mut self, value: &regorus::Value) -> Option<()> {
        match value {
            regorus::Value::Null => self.out.extend_from_slice(b"null"),
            regorus::Value::Bool(true) => self.out.extend_from_slice(b"true"),
            regorus::Value::Bool(false) => self.out.extend_from_slice(b"false"),
            regorus::Value::String(text) => {
                match self.enabled.then(|| self.redaction.redact(text)) {
                    Some(std::borrow::Cow::Owned(redacted)) => {
                        self.found += 1;
                        string(&mut self.out, &redacted);
                    }
                    _ => string(&mut self.out, text),
                }
            }
            regorus::Value::Number(n) => {
                // A whole number below 2^53 regorus writes as its digits, an integer or a
                // float alike (`5.0` is written `5`). Zero (`-0.0` is written `-0`) and larger
                // numbers take regorus's own path: there a float is written with its shortest
                // digits, not its exact value (`-5398211134082062000`, not `...336`).
                let n = match (n.as_u64(), n.as_i64()) {
                    (Some(u), _) if u != 0 && u < EXACT => serde_json::Number::from(u),
                    (None, Some(i)) if i < 0 && i > -(EXACT as i64) => serde_json::Number::from(i),
                    _ => return self.exact(value),
                };
                match self.redaction.secret_number(&n).filter(|_| self.enabled) {
                    Some(marker) => {
                        self.found += 1;
                        string(&mut self.out, &marker);
                    }
                    None => write_canonical(&Json::Number(n), &mut self.out),
                }
            }
            regorus::Value::Array(items) => {
                self.out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.value(item)?;
                }
                self.out.push(b']');
            }
            regorus::Value::Object(members) if string_keys(members) => {
                self.out.push(b'{');
                let mut written = 0;
                for (name, member) in members.iter_sorted() {
                    let name = key_text(name);
                    self.member_name(&mut written, name);
                    self.member(name, member)?;
                }
                self.out.push(b'}');
            }
            _ => return self.exact(value),
        }
        Some(())
    }
}

/// 2^53: every whole number below it is a float too, written with the same digits.
const EXACT: u64 = 1 << 53;

/// An outcome with only a status.
pub(crate) fn status(status: &str) -> OutcomeRecord {
    OutcomeRecord {
        status: status.to_owned(),
        duration_us: None,
        labels: Vec::new(),
        error: None,
    }
}

/// `args` with every sensitive arg replaced by `"[redacted]"`, as [`ToolSpec::redact`] gives
/// them, reusing the map instead of copying it; and whether one was.
pub(crate) fn redacted(spec: &ToolSpec, mut args: Json) -> (Json, bool) {
    let mut replaced = false;
    if let Json::Object(map) = &mut args {
        for name in &spec.sensitive_args {
            if let Some(value) = map.get_mut(name) {
                *value = Json::String("[redacted]".into());
                replaced = true;
            }
        }
    }
    (args, replaced)
}

impl TaskInner {
    /// Appends a record and mirrors it as a `tracing` event (target `agentwarrant::ledger`).
    /// The ledger is written the same way whether or not anyone listens.
    pub(crate) fn record(&self, kind: RecordKind, fields: CallFields) -> Result<u64, LedgerError> {
        let pending = fields.input;
        let detail = match (
            self.grant.escalated() && fields.call_id.is_some(),
            fields.detail,
        ) {
            // Every call made under an escalated grant says so.
            (true, Some(Json::Object(mut detail))) => {
                detail.insert("escalated".into(), Json::Bool(true));
                Some(Json::Object(detail))
            }
            (true, _) => Some(serde_json::json!({ "escalated": true })),
            (false, detail) => detail,
        };
        let mut record = Record {
            schema: 0,
            seq: 0,
            ts: rfc3339(self.runtime.clock.now()),
            kind,
            task_id: self.id.to_string(),
            call_id: fields.call_id.map(|c| c.to_string()),
            parent_call_id: fields.parent.map(|c| c.to_string()),
            identity: self.identity.id.clone(),
            owner: self.identity.owner.clone(),
            intent: self.intent.goal.clone(),
            tool: fields.tool,
            args: fields.args,
            args_digest: fields.args_digest,
            decision: fields.decision,
            approver: fields.approver,
            outcome: fields.outcome,
            detail,
            prev: String::new(),
            hash: String::new(),
        };
        let args_redacted = redact(&self.runtime.redaction, &mut record);
        let args_text = fields.args_text.filter(|_| !args_redacted);
        if let (Some(pending), Some(decision)) = (pending, record.decision.as_mut()) {
            decision.input = Some(pending.finish(record.args.as_ref(), args_text.as_deref()));
        }
        super::telemetry::observe(&record);
        if !tracing::enabled!(target: "agentwarrant::ledger", tracing::Level::INFO) {
            return self.runtime.ledger.append(record);
        }
        let event = Event::of(&record);
        let seq = self.runtime.ledger.append(record)?;
        tracing::event!(
            target: "agentwarrant::ledger",
            tracing::Level::INFO,
            agentwarrant.kind = event.kind.as_str(),
            agentwarrant.seq = seq,
            agentwarrant.task_id = %self.id,
            agentwarrant.call_id = event.call_id.as_deref(),
            agentwarrant.decision = event.decision.as_deref(),
            agentwarrant.reason = event.reasons.as_deref(),
            agentwarrant.outcome = event.outcome.as_deref(),
            gen_ai.agent.id = %self.identity.id,
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = event.tool.as_deref(),
            gen_ai.tool.call.id = event.call_id.as_deref(),
            "{}",
            event.kind.as_str()
        );
        Ok(seq)
    }
}

/// SECURITY: the secrets a record carries in its free text (args, detail, reasons, outcome
/// error, the goal) are redacted before the record is written or traced; `args_digest` was
/// computed over the args as given, so it still binds the call. A decision's input the
/// pipeline records was redacted as it was converted (and gets the record's args after this);
/// one made otherwise is redacted whole. Whether the args changed.
fn redact(redaction: &Redaction, record: &mut Record) -> bool {
    if !redaction.is_enabled() {
        return false;
    }
    let args_redacted = record
        .args
        .as_mut()
        .is_some_and(|args| redaction.redact_json_found(args));
    if let Some(detail) = &mut record.detail {
        redaction.redact_json(detail);
    }
    if let Some(decision) = &mut record.decision {
        decision
            .reasons
            .iter_mut()
            .for_each(|r| redaction.redact_string(r));
        if let Some(input) = &mut decision.input {
            let mut document = input.to_json();
            redaction.redact_json(&mut document);
            *input = RecordedInput::from_json(&document);
        }
    }
    if let Some(error) = record.outcome.as_mut().and_then(|o| o.error.as_mut()) {
        redaction.redact_string(error);
    }
    redaction.redact_string(&mut record.intent);
    args_redacted
}

/// What the `tracing` event of a record shows, taken before the record moves into the ledger.
struct Event {
    kind: RecordKind,
    call_id: Option<String>,
    tool: Option<String>,
    decision: Option<String>,
    reasons: Option<String>,
    outcome: Option<String>,
}

impl Event {
    fn of(record: &Record) -> Self {
        Self {
            kind: record.kind,
            call_id: record.call_id.clone(),
            tool: record.tool.clone(),
            decision: record.decision.as_ref().map(|d| d.effect.clone()),
            reasons: record.decision.as_ref().map(|d| d.reasons.join(",")),
            outcome: record.outcome.as_ref().map(|o| o.status.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What the record kept before: regorus's own serialization, redacted whole, with the
    /// call's args replaced by null.
    fn reference(input: &regorus::Value, redaction: &Redaction) -> Json {
        let mut json = serde_json::to_value(input).unwrap();
        if let Some(call) = json.get_mut("call").and_then(Json::as_object_mut) {
            call.insert("args".into(), Json::Null);
        }
        redaction.redact_json(&mut json);
        json
    }

    #[test]
    fn a_recorded_input_is_the_serialized_input_redacted_and_shared_parts_are_kept() {
        // Parts the task shares between documents, as its input caches hand them out.
        let identity = regorus::Value::from(json!({
            "id": "agent://acme/ops",
            "attributes": {"token": "ghp_0123456789abcdefghijABCDEFGHIJ012345",
                           "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                           "card": 4111111111111111_u64, "zero": 0, "neg": -3, "f": 2.5,
                           "whole": 5.0, "minus_zero": -0.0, "big": 18446744073709551615_u64}
        }));
        let entry = regorus::Value::from(
            json!({"tool": "fetch", "destinations": ["https://u:pw@h.example/x"]}),
        );
        let recent = regorus::Value::from(vec![entry.clone(), entry.clone()]);
        let spec = regorus::Value::from(json!({"impact": "low", "tags": ["a", "b"], "n": 3}));
        let mut set = std::collections::BTreeSet::new();
        set.insert(regorus::Value::from("b"));
        set.insert(regorus::Value::from("a"));
        let document = |n: u64| {
            let mut call = std::collections::BTreeMap::new();
            call.insert(
                regorus::Value::from("args"),
                regorus::Value::from(json!({"x": "sk-ant-api03-abcdefghijklmnopqrstuvwx"})),
            );
            call.insert(regorus::Value::from("tool"), regorus::Value::from("fetch"));
            call.insert(regorus::Value::from("spec"), spec.clone());
            call.insert(regorus::Value::from("n"), regorus::Value::from(n));
            call.insert(
                regorus::Value::from("set"),
                regorus::Value::from(set.clone()),
            );
            call.insert(regorus::Value::from("u"), regorus::Value::Undefined);
            let mut top = std::collections::BTreeMap::new();
            top.insert(regorus::Value::from("identity"), identity.clone());
            top.insert(regorus::Value::from("call"), regorus::Value::from(call));
            top.insert(regorus::Value::from("recent"), recent.clone());
            top.insert(
                regorus::Value::from("context"),
                regorus::Value::from(json!({"time": "t", "f": -1.5})),
            );
            regorus::Value::from(top)
        };
        for redaction in [Redaction::default(), Redaction::off()] {
            let mut memo = InputMemo::default();
            for n in 0..3 {
                let input = document(n);
                let got = memo
                    .recorded(&input, &redaction)
                    .unwrap()
                    .finish(None, None);
                assert_eq!(got.to_json(), reference(&input, &redaction), "call {n}");
                assert_eq!(got, RecordedInput::from_json(&got.to_json()), "canonical");
            }
            // The identity, the history entry and the spec, not the list of entries; only
            // the spec is clean, or all three without redaction.
            assert_eq!(memo.parts.len(), 3);
            let clean = memo
                .parts
                .values()
                .filter(|(_, clean)| clean.is_some())
                .count();
            assert_eq!(clean, if redaction.is_enabled() { 1 } else { 3 });
        }
        // A document that is not an object is recorded as regorus writes it.
        let mut memo = InputMemo::default();
        let scalar = regorus::Value::from("postgres://app:hunter2@db/main");
        assert_eq!(
            memo.recorded(&scalar, &Redaction::default())
                .unwrap()
                .finish(None, None)
                .to_json(),
            json!("postgres://app:[REDACTED:url_password]@db/main")
        );
    }

    /// Strings that hold secrets of several kinds, and strings that hold none.
    fn text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            "[a-z0-9 ./:@_-]{0,12}",
            Just("ghp_0123456789abcdefghijABCDEFGHIJ012345".to_owned()),
            Just("postgres://app:hunter2@db/main".to_owned()),
            Just("4111 1111 1111 1111".to_owned()),
            Just("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned()),
        ]
    }

    /// JSON documents of every shape, with secrets among their strings, numbers and names.
    fn json_value() -> impl proptest::strategy::Strategy<Value = Json> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::from),
            any::<i64>().prop_map(Json::from),
            Just(Json::from(4111111111111111_u64)),
            any::<f64>().prop_map(Json::from),
            text().prop_map(Json::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            let name = prop_oneof![text(), Just("aws_secret_access_key".to_owned())];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Json::from),
                proptest::collection::btree_map(name, inner, 0..4)
                    .prop_map(|m| Json::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// However the parts a task shares between documents look, and whichever of them
        /// hold secrets, each recorded input is the document serialized and redacted whole:
        /// a part kept as text is the text a fresh conversion writes.
        #[test]
        fn recorded_inputs_with_shared_parts_are_the_documents_redacted(
            parts in proptest::collection::vec(json_value(), 3),
            own in proptest::collection::vec(json_value(), 3),
            off in proptest::bool::ANY,
        ) {
            let redaction = if off { Redaction::off() } else { Redaction::default() };
            // Shared as the task's caches share them: one value handed to every document.
            let shared: Vec<regorus::Value> = parts
                .iter()
                .map(|part| regorus::Value::from(json!({"part": part})))
                .collect();
            let mut memo = InputMemo::default();
            for own in &own {
                let mut call = std::collections::BTreeMap::new();
                call.insert(regorus::Value::from("spec"), shared[0].clone());
                call.insert(regorus::Value::from("own"), regorus::Value::from(own.clone()));
                let mut top = std::collections::BTreeMap::new();
                top.insert(regorus::Value::from("identity"), shared[1].clone());
                top.insert(regorus::Value::from("call"), regorus::Value::from(call));
                top.insert(
                    regorus::Value::from("recent"),
                    regorus::Value::from(vec![shared[2].clone(), shared[1].clone()]),
                );
                let input = regorus::Value::from(top);
                let got = memo.recorded(&input, &redaction).unwrap().finish(None, None);
                // Compared as text: the bytes the ledger keeps and hashes.
                let expected = RecordedInput::from_json(&reference(&input, &redaction));
                proptest::prop_assert_eq!(got.as_str(), expected.as_str());
            }
        }
    }

    #[test]
    fn the_memo_keeps_a_bounded_number_of_parts() {
        let mut memo = InputMemo::default();
        let kept: Vec<regorus::Value> = (0..MEMO_PARTS as u64 * 2)
            .map(|n| regorus::Value::from(json!({"n": n})))
            .collect();
        for part in &kept {
            let mut top = std::collections::BTreeMap::new();
            top.insert(regorus::Value::from("part"), part.clone());
            memo.recorded(&regorus::Value::from(top), &Redaction::default())
                .unwrap();
            assert!(memo.parts.len() <= MEMO_PARTS);
        }
        // Parts that die as fast as they come (a task's history entries) are let go, and the
        // removals never double the table.
        for n in 0..1_000_u64 {
            let part = regorus::Value::from(json!({"n": n}));
            let mut top = std::collections::BTreeMap::new();
            top.insert(regorus::Value::from("part"), part.clone());
            memo.recorded(&regorus::Value::from(top), &Redaction::default())
                .unwrap();
            assert!(memo.parts.capacity() <= MEMO_PARTS, "call {n}");
        }
    }
}
