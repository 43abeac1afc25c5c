//! Builds the policy input document (contract `agentwarrant/v1`) directly as a regorus value.
//!
//! Everything that stays the same for a task (identity, task, intent, grant id and scopes, the
//! spec of each tool, the document's keys) is built once into reference-counted values when the
//! task begins or a tool is first called, so that each call allocates only what is its own
//! (ids, args, scopes). The values belong to the task: two tasks on two threads never touch
//! the same reference count.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

use regorus::Value;
use time::OffsetDateTime;

pub(crate) use super::validate::Band;
use super::validate::Examined;
use super::TaskInner;
use crate::chain::{ChainSnapshot, Decisions, Probe, Ran, Signal};
use crate::clock::rfc3339;
use crate::grant::Grant;
use crate::identity::Identity;
use crate::ids::{CallId, TaskId};
use crate::intent::Intent;
use crate::limits::TaskLimits;
use crate::policy::value::{convert, kept, object, object_from_json, object_of, strings};
use crate::policy::INPUT_VERSION;
use crate::scope::Scope;
use crate::tool::{ToolCall, ToolSpec};

macro_rules! keys {
    ($($field:ident = $text:literal,)*) => {
        /// The document's member names (and a few fixed strings), allocated once per task.
        struct Keys {
            $($field: Value,)*
        }

        impl Keys {
            fn new() -> Self {
                Self {
                    $($field: Value::from($text),)*
                }
            }
        }
    };
}

keys! {
    version = "version",
    identity = "identity",
    grant = "grant",
    task = "task",
    call = "call",
    chain = "chain",
    context = "context",
    id = "id",
    scopes = "scopes",
    expires_in_s = "expires_in_s",
    escalated = "escalated",
    revoked = "revoked",
    tool = "tool",
    parent_id = "parent_id",
    args = "args",
    required_scopes = "required_scopes",
    scope_bands = "scope_bands",
    named_scopes = "named_scopes",
    destinations = "destinations",
    spec = "spec",
    depth = "depth",
    calls = "calls",
    tools_used = "tools_used",
    labels = "labels",
    impact_total = "impact_total",
    drift = "drift",
    kind = "kind",
    detail = "detail",
    time = "time",
    reads = "reads",
    band_intent = "intent",
    band_drift = "drift",
    band_outside_ceiling = "outside_ceiling",
    signals = "signals",
    history = "history",
    recent = "recent",
    counts = "counts",
    effect = "effect",
    effect_allow = "allow",
    effect_approval = "approval",
    destination = "destination",
    earlier = "earlier",
    window_s = "window_s",
}

/// FNV-1a: arg names are short, and hashing them must cost less than the allocation the
/// cache saves (the standard hasher does not).
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

/// The most arg names a task keeps, so that ever-new names cannot grow its memory unbounded.
const MAX_ARG_NAMES: usize = 256;

/// Arg names seen in this task as regorus strings: calls repeat their arg names, so each is
/// allocated once per task rather than once per call.
type ArgNames = HashMap<Box<str>, Value, BuildHasherDefault<Fnv>>;

/// A UUID as a regorus string, formatted without an intermediate `String`.
fn uuid(id: uuid::Uuid) -> Value {
    let mut buf = uuid::Uuid::encode_buffer();
    Value::from(&*id.hyphenated().encode_lower(&mut buf))
}

/// A list of the chain and the array made of it.
type CachedList = Option<(Arc<[String]>, Value)>;

/// The chain's history as regorus values: the `recent` array and each entry's object (an
/// entry is built once, when its call ran).
#[derive(Default)]
struct HistoryCache {
    recent: Option<(Arc<[Arc<Ran>]>, Value)>,
    entries: Vec<(Arc<Ran>, Value)>,
}

/// The parts of the input document that stay the same for a task.
pub(crate) struct TaskInput {
    keys: Keys,
    version: Value,
    identity: Value,
    task: Value,
    grant_id: Value,
    grant_scopes: Value,
    grant_escalated: bool,
    /// The grant object for the last `(expires_in_s, revoked)` seen: it changes once a second.
    grant: Mutex<Option<(i64, bool, Value)>>,
    /// Each tool's `spec` object and name, built on the tool's first call in this task.
    specs: Mutex<Vec<(Arc<ToolSpec>, Value, Value)>>,
    /// The chain's `tools_used`, `labels` and `destinations` as arrays, rebuilt only when the
    /// chain hands out a new list (it does so only when a set changes).
    chain_lists: Mutex<[CachedList; 3]>,
    history: Mutex<HistoryCache>,
    /// The empty array, allocated once: most calls' `chain.signals`, and every empty list.
    empty: Value,
    arg_names: Mutex<ArgNames>,
}

impl std::fmt::Debug for TaskInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskInput").finish_non_exhaustive()
    }
}

/// Everything a call's input document is built from besides its task's [`TaskInput`].
pub(crate) struct CallFacts<'a> {
    pub(crate) grant: &'a Grant,
    pub(crate) now: OffsetDateTime,
    pub(crate) call_id: CallId,
    pub(crate) call: &'a ToolCall,
    pub(crate) spec: &'a Arc<ToolSpec>,
    pub(crate) required: &'a [Scope],
    pub(crate) bands: &'a [(Scope, Band)],
    pub(crate) named: &'a [Scope],
    pub(crate) destinations: &'a [String],
    pub(crate) chain: &'a ChainSnapshot,
    pub(crate) drift: Vec<(&'static str, String)>,
    pub(crate) signals: &'a [Signal],
}

impl TaskInput {
    pub(crate) fn new(
        identity: &Identity,
        intent: &Intent,
        task_id: TaskId,
        env: &str,
        production: bool,
        grant: &Grant,
        limits: &TaskLimits,
    ) -> Self {
        let keys = Keys::new();
        let identity_value = kept([
            (keys.id.clone(), Value::from(identity.id.as_str())),
            (Value::from("role"), Value::from(identity.role.as_str())),
            (Value::from("owner"), Value::from(identity.owner.as_str())),
            (
                Value::from("attributes"),
                object_from_json(&identity.attributes),
            ),
        ]);
        let intent_value = kept([
            (Value::from("goal"), Value::from(intent.goal.as_str())),
            (
                keys.scopes.clone(),
                strings(intent.scopes.patterns().iter().map(|p| p.as_str())),
            ),
            (
                Value::from("max_impact"),
                intent
                    .max_impact
                    .map_or(Value::Null, |i| Value::from(i.as_str())),
            ),
            (
                Value::from("attributes"),
                object_from_json(&intent.attributes),
            ),
        ]);
        let task = kept([
            (keys.id.clone(), uuid(task_id.to_uuid())),
            (Value::from("intent"), intent_value),
            (Value::from("env"), Value::from(env)),
            (Value::from("production"), Value::Bool(production)),
            (Value::from("attributes"), Value::new_object()),
            (
                Value::from("limits"),
                object_of(
                    limits
                        .policy_input()
                        .into_iter()
                        .map(|(name, value)| (Value::from(name), Value::from(value))),
                ),
            ),
        ]);
        Self {
            version: Value::from(INPUT_VERSION),
            identity: identity_value,
            task,
            grant_id: uuid(grant.id().to_uuid()),
            grant_scopes: strings(grant.scopes().iter().map(String::as_str)),
            grant_escalated: grant.escalated(),
            grant: Mutex::new(None),
            specs: Mutex::new(Vec::new()),
            chain_lists: Mutex::new([None, None, None]),
            history: Mutex::new(HistoryCache::default()),
            empty: Value::new_array(),
            arg_names: Mutex::new(ArgNames::default()),
            keys,
        }
    }

    /// An array of strings; the shared empty array when there are none.
    fn list<'a>(&self, items: impl IntoIterator<Item = &'a str>) -> Value {
        let items: Vec<Value> = items.into_iter().map(Value::from).collect();
        if items.is_empty() {
            self.empty.clone()
        } else {
            Value::from(items)
        }
    }

    fn grant(&self, grant: &Grant, now: OffsetDateTime) -> Value {
        let expires_in_s = grant.expires_in_s(now);
        let revoked = grant.is_revoked();
        let mut cached = self.grant.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((e, r, value)) = &*cached {
            if (*e, *r) == (expires_in_s, revoked) {
                return value.clone();
            }
        }
        let k = &self.keys;
        let value = kept([
            (k.id.clone(), self.grant_id.clone()),
            (k.scopes.clone(), self.grant_scopes.clone()),
            (k.expires_in_s.clone(), Value::from(expires_in_s)),
            (k.escalated.clone(), Value::Bool(self.grant_escalated)),
            (k.revoked.clone(), Value::Bool(revoked)),
        ]);
        *cached = Some((expires_in_s, revoked, value.clone()));
        value
    }

    /// The chain's three lists as arrays, from the cache while the lists are the same.
    fn chain_lists(&self, chain: &ChainSnapshot) -> [Value; 3] {
        let mut cached = self.chain_lists.lock().unwrap_or_else(|p| p.into_inner());
        let lists = [&chain.tools_used, &chain.labels, &chain.destinations];
        let mut values = lists.map(|_| Value::Null);
        for ((slot, list), value) in cached.iter_mut().zip(lists).zip(&mut values) {
            match slot {
                Some((seen, array)) if Arc::ptr_eq(seen, list) => *value = array.clone(),
                _ => {
                    *value = self.list(list.iter().map(String::as_str));
                    *slot = Some((list.clone(), value.clone()));
                }
            }
        }
        values
    }

    /// The chain's `history` object, from the cache while the chain's lists are the same.
    fn history(&self, chain: &ChainSnapshot) -> Value {
        let k = &self.keys;
        let mut cache = self.history.lock().unwrap_or_else(|p| p.into_inner());
        let cache = &mut *cache;
        let recent = match &cache.recent {
            Some((seen, array)) if Arc::ptr_eq(seen, &chain.history) => array.clone(),
            _ => {
                let entries: Vec<(Arc<Ran>, Value)> = chain
                    .history
                    .iter()
                    .map(|ran| {
                        let built = cache
                            .entries
                            .iter()
                            .find(|(seen, _)| Arc::ptr_eq(seen, ran))
                            .map(|(_, value)| value.clone());
                        let value = built.unwrap_or_else(|| {
                            let effect = if ran.approved {
                                k.effect_approval.clone()
                            } else {
                                k.effect_allow.clone()
                            };
                            kept([
                                (k.tool.clone(), Value::from(&*ran.tool)),
                                (k.effect.clone(), effect),
                                (
                                    k.labels.clone(),
                                    self.list(ran.labels.iter().map(String::as_str)),
                                ),
                                (
                                    k.destinations.clone(),
                                    self.list(ran.destinations.iter().map(String::as_str)),
                                ),
                            ])
                        });
                        (ran.clone(), value)
                    })
                    .collect();
                let array = Value::from(entries.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>());
                cache.entries = entries;
                cache.recent = Some((chain.history.clone(), array.clone()));
                array
            }
        };
        // Built for each document, not kept: the counts change with every call that runs,
        // and a part the task holds on to is one the recorded input keeps as text.
        let counts = object_of(
            chain
                .counts
                .iter()
                .map(|(tool, count)| (Value::from(&**tool), Value::from(*count))),
        );
        object([(k.recent.clone(), recent), (k.counts.clone(), counts)])
    }

    /// The `signals` array: each `{"kind": ..., "detail": {...}}`.
    fn signals(&self, signals: &[Signal]) -> Value {
        let k = &self.keys;
        if signals.is_empty() {
            return self.empty.clone();
        }
        let text = |text: &str| Value::from(text);
        Value::from(
            signals
                .iter()
                .map(|signal| {
                    let detail = match signal {
                        Signal::NewDestination { destination } => {
                            object([(k.destination.clone(), text(destination))])
                        }
                        Signal::RepeatedCall { tool, earlier } => object([
                            (k.tool.clone(), text(tool)),
                            (k.earlier.clone(), Value::from(*earlier)),
                        ]),
                        Signal::Burst { calls, window_s } => object([
                            (k.calls.clone(), Value::from(*calls)),
                            (k.window_s.clone(), Value::from(*window_s)),
                        ]),
                        Signal::UnimpliedTool { tool } => object([(k.tool.clone(), text(tool))]),
                    };
                    object([
                        (k.kind.clone(), Value::from(signal.kind())),
                        (k.detail.clone(), detail),
                    ])
                })
                .collect::<Vec<_>>(),
        )
    }

    /// The tool's `spec` object and name value.
    fn spec(&self, spec: &Arc<ToolSpec>) -> (Value, Value) {
        let mut specs = self.specs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, value, name)) = specs.iter().find(|(s, _, _)| Arc::ptr_eq(s, spec)) {
            return (value.clone(), name.clone());
        }
        let value = kept([
            (Value::from("impact"), Value::from(spec.impact.as_str())),
            (Value::from("reversible"), Value::Bool(spec.reversible)),
            (Value::from("external"), Value::Bool(spec.external)),
            (
                self.keys.reads.clone(),
                self.list(spec.reads.iter().map(String::as_str)),
            ),
            (Value::from("sink"), Value::Bool(spec.sink)),
            (
                Value::from("tags"),
                self.list(spec.tags.iter().map(String::as_str)),
            ),
            (
                Value::from("roles"),
                spec.roles.as_ref().map_or(Value::Null, |roles| {
                    self.list(roles.iter().map(|r| r.as_str()))
                }),
            ),
        ]);
        let name = Value::from(spec.name.as_str());
        specs.push((spec.clone(), value.clone(), name.clone()));
        (value, name)
    }

    /// The input document for one evaluation.
    pub(crate) fn document(&self, facts: CallFacts<'_>) -> Value {
        let k = &self.keys;
        let chain = facts.chain;
        let (spec, spec_name) = self.spec(facts.spec);
        let tool = if facts.call.tool == facts.spec.name {
            spec_name
        } else {
            Value::from(facts.call.tool.as_str())
        };
        let args = {
            let mut names = self.arg_names.lock().unwrap_or_else(|p| p.into_inner());
            convert(&facts.call.args, &mut |name| {
                if let Some(value) = names.get(name) {
                    return value.clone();
                }
                let value = Value::from(name);
                if names.len() < MAX_ARG_NAMES {
                    names.insert(name.into(), value.clone());
                }
                value
            })
        };
        let bands = object_of(facts.bands.iter().map(|(scope, band)| {
            let band = match band {
                Band::Intent => k.band_intent.clone(),
                Band::Drift => k.band_drift.clone(),
                Band::OutsideCeiling => k.band_outside_ceiling.clone(),
            };
            (Value::from(scope.as_str()), band)
        }));
        let call = object([
            (k.id.clone(), uuid(facts.call_id.to_uuid())),
            (k.tool.clone(), tool),
            (
                k.parent_id.clone(),
                facts.call.parent.map_or(Value::Null, |p| uuid(p.to_uuid())),
            ),
            (k.args.clone(), args),
            (
                k.required_scopes.clone(),
                self.list(facts.required.iter().map(Scope::as_str)),
            ),
            (k.scope_bands.clone(), bands),
            (
                k.named_scopes.clone(),
                self.list(facts.named.iter().map(Scope::as_str)),
            ),
            (
                k.destinations.clone(),
                self.list(facts.destinations.iter().map(String::as_str)),
            ),
            (k.spec.clone(), spec),
        ]);
        let drift = Value::from(
            facts
                .drift
                .iter()
                .map(|(kind, detail)| {
                    object([
                        (k.kind.clone(), Value::from(*kind)),
                        (k.detail.clone(), Value::from(detail.as_str())),
                    ])
                })
                .collect::<Vec<_>>(),
        );
        let [tools_used, labels, destinations] = self.chain_lists(chain);
        let chain = object([
            (k.depth.clone(), Value::from(chain.depth)),
            (k.calls.clone(), Value::from(chain.calls)),
            (k.tools_used.clone(), tools_used),
            (k.labels.clone(), labels),
            (k.destinations.clone(), destinations),
            (k.impact_total.clone(), Value::from(chain.impact_total)),
            (k.drift.clone(), drift),
            (k.signals.clone(), self.signals(facts.signals)),
            (k.history.clone(), self.history(chain)),
        ]);
        let context = object([(k.time.clone(), Value::from(rfc3339(facts.now)))]);
        object([
            (k.version.clone(), self.version.clone()),
            (k.identity.clone(), self.identity.clone()),
            (k.grant.clone(), self.grant(facts.grant, facts.now)),
            (k.task.clone(), self.task.clone()),
            (k.call.clone(), call),
            (k.chain.clone(), chain),
            (k.context.clone(), context),
        ])
    }
}

impl TaskInner {
    /// The policy input document for a validated call: the task's fixed parts, the call, the
    /// chain as it stood before it, and the drift it would cause.
    pub(crate) fn document(
        &self,
        call_id: CallId,
        call: &ToolCall,
        now: OffsetDateTime,
        chain: &ChainSnapshot,
        examined: &Examined,
    ) -> Value {
        let spec = &examined.spec;
        let drift = examined
            .bands
            .iter()
            .filter(|(_, band)| *band == Band::Drift)
            .map(|(scope, _)| ("scope_outside_intent", scope.to_string()))
            .chain(
                self.intent
                    .max_impact
                    .filter(|max| spec.impact > *max)
                    .map(|max| ("impact_above_intent", format!("{} > {max}", spec.impact))),
            )
            .collect();
        self.input.document(CallFacts {
            grant: &self.grant,
            now,
            call_id,
            call,
            spec,
            required: &examined.required,
            bands: &examined.bands,
            named: &examined.named,
            destinations: &examined.destinations,
            chain,
            drift,
            signals: &examined.signals,
        })
    }

    /// The signals a validated call raises against the chain (`chain.signals`). With
    /// `record`, the call is remembered for the signals of later calls (the pipeline);
    /// without, nothing changes (an explanation).
    pub(crate) fn signals(
        &self,
        decisions: &mut Decisions<'_>,
        call: &ToolCall,
        examined: &Examined,
        now: OffsetDateTime,
        record: bool,
    ) -> Vec<Signal> {
        // The args digest is already a SHA-256: 16 of its hex digits tell calls apart.
        let mut hasher = Fnv::default();
        hasher.write(call.tool.as_bytes());
        hasher.write(&[0]);
        let digest = &examined.args_digest;
        hasher.write(digest.get(..16).unwrap_or(digest).as_bytes());
        // A tool is implied when the intent names the action of a scope it requires, at every
        // level of the delegation chain that bounds this task (as the bands are computed).
        let implied = examined.required.iter().any(|scope| {
            self.bounding()
                .all(|l| l.intent.contains_action(scope.action()))
        });
        // Named: the destination appears in the task's goal, as the user wrote it (case
        // aside). Computed only for a destination no call has sent to yet.
        let goal = OnceCell::new();
        let named = |destination: &str| {
            let goal: &String = goal.get_or_init(|| self.intent.goal.to_lowercase());
            !destination.is_empty() && goal.contains(&destination.to_lowercase())
        };
        let probe = Probe {
            tool: &call.tool,
            digest: hasher.finish(),
            destinations: &examined.destinations,
            named: &named,
            implied,
            now,
        };
        if record {
            decisions.observe(&probe)
        } else {
            decisions.signals(&probe)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{Chain, Contribution, Thresholds};
    use crate::kinds::{Impact, Role};
    use serde_json::{json, Value as Json};

    /// The document as the engine built it before it built regorus values directly: the
    /// contract, spelled out once more as JSON.
    fn reference(
        identity: &Identity,
        intent: &Intent,
        task_id: TaskId,
        env: &str,
        facts: &CallFacts<'_>,
    ) -> Value {
        let CallFacts { grant, spec, .. } = facts;
        let bands: serde_json::Map<String, Json> = facts
            .bands
            .iter()
            .map(|(scope, band)| (scope.to_string(), Json::from(band.as_str())))
            .collect();
        Value::from(json!({
            "version": INPUT_VERSION,
            "identity": {
                "id": identity.id,
                "role": identity.role.as_str(),
                "owner": identity.owner,
                "attributes": identity.attributes,
            },
            "grant": {
                "id": grant.id().to_string(),
                "scopes": grant.scopes(),
                "expires_in_s": grant.expires_in_s(facts.now),
                "escalated": grant.escalated(),
                "revoked": grant.is_revoked(),
            },
            "task": {
                "id": task_id.to_string(),
                "intent": {
                    "goal": intent.goal,
                    "scopes": intent.scopes.to_strings(),
                    "max_impact": intent.max_impact.map(|i| i.as_str()),
                    "attributes": intent.attributes,
                },
                "env": env,
                "production": env == "prod",
                "attributes": {},
                "limits": {},
            },
            "call": {
                "id": facts.call_id.to_string(),
                "tool": facts.call.tool,
                "parent_id": facts.call.parent.map(|p| p.to_string()),
                "args": facts.call.args,
                "required_scopes": facts.required.iter().map(Scope::as_str).collect::<Vec<_>>(),
                "scope_bands": bands,
                "named_scopes": facts.named.iter().map(Scope::as_str).collect::<Vec<_>>(),
                "destinations": facts.destinations,
                "spec": {
                    "impact": spec.impact.as_str(),
                    "reversible": spec.reversible,
                    "external": spec.external,
                    "reads": spec.reads,
                    "sink": spec.sink,
                    "tags": spec.tags,
                    "roles": spec.roles.as_ref().map(|r| r.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
                },
            },
            // Written out from the chain the test drives (two committed calls, see below),
            // not read back from the implementation's snapshot: sorted sets, no duplicates.
            "chain": {
                "depth": 1,
                "calls": 3,
                "tools_used": ["fetch_url", "read_file"],
                "labels": ["pii", "secret", "untrusted"],
                "destinations": ["https://example.com/a", "x@acme.com"],
                "impact_total": 1,
                "drift": facts.drift.iter().map(|(kind, detail)| json!({"kind": kind, "detail": detail})).collect::<Vec<_>>(),
                "signals": [
                    {"kind": "new_destination", "detail": {"destination": "b@evil.com"}},
                    {"kind": "repeated_call", "detail": {"tool": "send_email", "earlier": 2}},
                    {"kind": "burst", "detail": {"calls": 31, "window_s": 10}},
                    {"kind": "unimplied_tool", "detail": {"tool": "send_email"}},
                ],
                // The calls that ran, oldest first, each as called and as it was decided.
                "history": {
                    "recent": [
                        {"tool": "read_file", "effect": "allow", "labels": ["secret", "pii"],
                         "destinations": ["x@acme.com"]},
                        {"tool": "web_get", "effect": "approval", "labels": ["untrusted", "pii"],
                         "destinations": ["https://example.com/a"]},
                    ],
                    "counts": {"read_file": 1, "web_get": 1},
                },
            },
            "context": {"time": rfc3339(facts.now)},
        }))
    }

    #[test]
    fn the_document_is_the_contract_document() {
        let identity = Identity::builder("agent://acme/ops", Role::Executor, "alice@acme.com")
            .ceiling(["email.send:*", "files.read:*"])
            .attribute("team", "platform")
            .attribute("tier", 2)
            .build()
            .unwrap();
        let intent = Intent::builder("report")
            .scopes(["email.send:*@acme.com"])
            .max_impact(Impact::Low)
            .attribute("ticket", json!({"id": "T-1", "weights": [1.5, -2, 3]}))
            .build()
            .unwrap();
        let now = time::macros::datetime!(2026-01-02 03:04:05.678 UTC);
        let grant = Grant::issue(
            vec!["email.send:*@acme.com".into()],
            now,
            time::Duration::minutes(9),
            false,
            None,
        );
        let chain = Chain::new(8, Thresholds::default());
        let _ = chain.decide().begin_call(None, 0);
        chain.decide().commit(
            CallId::new(),
            1,
            Contribution {
                tool: "read_file".into(),
                called: "read_file".into(),
                approved: false,
                labels: vec!["secret".into(), "pii".into()],
                destinations: vec!["x@acme.com".into()],
                weight: 1,
            },
        );
        let _ = chain.decide().begin_call(None, 0);
        chain.decide().commit(
            CallId::new(),
            1,
            Contribution {
                tool: "fetch_url".into(),
                called: "web_get".into(),
                approved: true,
                labels: vec!["untrusted".into(), "pii".into()],
                destinations: vec!["https://example.com/a".into()],
                weight: 0,
            },
        );
        // A refused call counts as decided and adds nothing.
        let _ = chain.decide().begin_call(None, 0);
        let (snapshot, _) = chain.decide().begin_call(None, 0);
        let spec = Arc::new(
            ToolSpec::builder("send_email", Impact::Medium)
                .external(true)
                .sink(true)
                .reads(["secret"])
                .tags(["financial"])
                .roles([Role::Executor])
                .scope("email.send:{to}")
                .destination_arg("to")
                .build()
                .unwrap(),
        );
        let plain = Arc::new(ToolSpec::builder("ping", Impact::Low).build().unwrap());
        let task_id = TaskId::new();
        let limits = TaskLimits::default();
        let input = TaskInput::new(&identity, &intent, task_id, "prod", true, &grant, &limits);
        let parent = CallId::new();
        let calls = [
            (
                ToolCall::new(
                    "send_email",
                    json!({"to": ["a@acme.com", "b@evil.com"], "n": 1, "neg": -1, "f": 0.25,
                           "nested": {"z": null, "a": [true, {"": "x"}]}, "empty": {}}),
                )
                .child_of(parent),
                spec.clone(),
            ),
            (ToolCall::new("anything", json!({})), plain),
        ];
        for (call, spec) in &calls {
            let required: Vec<Scope> = ["email.send:a@acme.com", "email.send:b@evil.com"]
                .iter()
                .map(|s| Scope::parse(s).unwrap())
                .collect();
            let bands = vec![
                (required[0].clone(), Band::Intent),
                (required[1].clone(), Band::Drift),
            ];
            let destinations = vec!["a@acme.com".to_owned(), "b@evil.com".to_owned()];
            let call_id = CallId::new();
            let signals = [
                Signal::NewDestination {
                    destination: "b@evil.com".into(),
                },
                Signal::RepeatedCall {
                    tool: "send_email".into(),
                    earlier: 2,
                },
                Signal::Burst {
                    calls: 31,
                    window_s: 10,
                },
                Signal::UnimpliedTool {
                    tool: "send_email".into(),
                },
            ];
            let facts = || CallFacts {
                grant: &grant,
                now,
                call_id,
                call,
                spec,
                required: &required,
                bands: &bands,
                named: &required[..1],
                destinations: &destinations,
                chain: &snapshot,
                drift: vec![("scope_outside_intent", "email.send:b@evil.com".into())],
                signals: &signals,
            };
            let want = reference(&identity, &intent, task_id, "prod", &facts());
            // Twice: the second document comes from the task's caches.
            for _ in 0..2 {
                let got = input.document(facts());
                assert_eq!(got, want);
            }
        }
    }
}
