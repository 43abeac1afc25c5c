//! What a guard's tasks share at run time: the compiled policy, the tool table, the approver,
//! the ledger, the clock, the limits, and the fleet state (known agents, the kill switch,
//! approvals pending and already used).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::approval::{Approver, UsedApprovals};
use crate::approval_store::ApprovalStore;
use crate::clock::Clock;
use crate::credential::{Credential, CredentialBroker};
use crate::jwt::{Jwks, JwtKeys, JwtPublicKey, JwtVerifier, RevocationStore};
use crate::ledger::Ledger;
use crate::limits::Limits;
use crate::policy::PolicyEngine;
use crate::principal::Principal;
use crate::redact::Redaction;
use crate::token::SigningKey;
use crate::tool::ToolSpec;

/// Everything a task needs from its guard.
pub(crate) struct Runtime {
    pub(crate) engine: PolicyEngine,
    pub(crate) tools: RwLock<HashMap<String, Arc<ToolSpec>>>,
    pub(crate) default_tool: Option<Arc<ToolSpec>>,
    /// The specs of the engine's own tools (`renew_grant`, `declassify`).
    pub(crate) engine_tools: Vec<Arc<ToolSpec>>,
    pub(crate) approver: Option<Arc<dyn Approver>>,
    /// Where deferred approval requests wait for their answers.
    pub(crate) approvals: Arc<dyn ApprovalStore>,
    pub(crate) ledger: Arc<dyn Ledger>,
    /// The secrets redacted from every record before it is written or traced.
    pub(crate) redaction: Redaction,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) limits: Limits,
    pub(crate) env: String,
    /// Whether `env` is one of the guard's production environments.
    pub(crate) production: bool,
    /// Every identity that began a task: none of them may approve anything.
    pub(crate) agents: RwLock<BTreeSet<Principal>>,
    /// Identities switched off: their tasks' calls are refused.
    pub(crate) disabled: RwLock<BTreeSet<Principal>>,
    /// How many identities are disabled (`usize::MAX` while the set changes), so that the
    /// hot path reads one rarely-written atomic instead of taking the lock on every call.
    pub(crate) disabled_count: AtomicUsize,
    /// Identities whose task tree was suspended after repeated refusals: none of them may
    /// begin a fresh task until a human resumes it.
    pub(crate) suspended: RwLock<BTreeSet<Principal>>,
    pub(crate) used_approvals: UsedApprovals,
    pub(crate) signing_key: SigningKey,
    /// The keys that sign grant and call JWTs; rotated while the guard runs.
    pub(crate) jwt_keys: RwLock<JwtKeys>,
    /// `iss` and `aud` of the JWTs the guard mints.
    pub(crate) jwt_issuer: String,
    pub(crate) jwt_audience: String,
    /// Where ending a task writes its grant's id, for every verifier that shares it.
    pub(crate) revocations: Arc<dyn RevocationStore>,
    /// Whether `call.decided` records keep the policy input (for `agentwarrant replay`).
    pub(crate) record_inputs: bool,
    /// Mints each task's just-in-time credential and revokes it at the end.
    pub(crate) broker: Option<Arc<dyn CredentialBroker>>,
    /// Credentials of ended tasks that the broker failed to revoke, until it does.
    pub(crate) unrevoked: Mutex<Vec<Credential>>,
    /// Other guards' keys trusted for chain tokens.
    pub(crate) trusted_chain_keys: Vec<JwtPublicKey>,
    /// Held while a chain token is verified and spent.
    pub(crate) chain_resumptions: Mutex<()>,
}

impl Runtime {
    /// Whether any of `ids` is disabled; a poisoned lock counts as disabled (fail closed).
    pub(crate) fn any_disabled<'a>(&self, mut ids: impl Iterator<Item = &'a Principal>) -> bool {
        if self.disabled_count.load(Ordering::SeqCst) == 0 {
            return false;
        }
        match self.disabled.read() {
            Ok(disabled) => !disabled.is_empty() && ids.any(|id| disabled.contains(id)),
            Err(_) => true,
        }
    }

    pub(crate) fn tool(&self, name: &str) -> Option<Arc<ToolSpec>> {
        let declared = self
            .tools
            .read()
            .ok()
            .and_then(|tools| tools.get(name).cloned());
        declared
            .or_else(|| self.engine_tools.iter().find(|t| t.name == name).cloned())
            .or_else(|| self.default_tool.clone())
    }
}

impl Runtime {
    /// Signs `claims` with the active JWT key (a poisoned lock still holds whole keys).
    pub(crate) fn sign_jwt<C: serde::Serialize>(&self, typ: &str, claims: &C) -> String {
        let keys = self.jwt_keys.read().unwrap_or_else(|p| p.into_inner());
        crate::jwt::encode(&keys, typ, claims)
    }

    /// A verifier of tokens signed by `keys`, with this guard's issuer, audience, clock and
    /// revocation store.
    pub(crate) fn jwt_verifier(&self, keys: Jwks) -> JwtVerifier {
        JwtVerifier::with_shared(keys, self.revocations.clone(), self.clock.clone())
            .issuer(self.jwt_issuer.clone())
            .audience(self.jwt_audience.clone())
    }

    /// The verifier of chain tokens: this guard's keys and the keys it trusts for chains.
    pub(crate) fn chain_verifier(&self) -> JwtVerifier {
        let own = self
            .jwt_keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .jwks();
        let keys = own.keys().iter().chain(&self.trusted_chain_keys).cloned();
        self.jwt_verifier(Jwks::new(keys))
    }

    /// Whether `who` is a human who may resume or approve: not empty, not an agent URI, not
    /// an identity known to the guard.
    pub(crate) fn is_human(&self, who: &str) -> bool {
        let who = Principal::new(who);
        !who.is_empty()
            && !who.is_agent()
            && self
                .agents
                .read()
                .is_ok_and(|agents| !agents.contains(&who))
    }

    /// Switches `id` off (`true`) or back on; the hot path sees the change through
    /// `disabled_count` without taking the lock.
    pub(crate) fn set_disabled(&self, id: &str, disabled: bool) {
        if let Ok(mut set) = self.disabled.write() {
            // Checked under the lock until the set is updated (a panic leaves it so).
            self.disabled_count.store(usize::MAX, Ordering::SeqCst);
            // SECURITY: canonical, so a look-alike spelling switches off the same identity.
            let id = Principal::new(id);
            if disabled {
                set.insert(id);
            } else {
                set.remove(&id);
            }
            self.disabled_count.store(set.len(), Ordering::SeqCst);
        }
    }
}
