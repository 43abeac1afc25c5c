//! The chain tracker: depth, call counts, labels, destinations and cumulative impact of a task
//! tree, in bounded memory.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;

use crate::ids::CallId;

/// What the policy sees of the chain so far, for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainSnapshot {
    /// This call's depth: 1 at the top, parent's + 1 below.
    pub(crate) depth: u32,
    /// Calls decided before this one, refused ones included.
    pub(crate) calls: u64,
    /// The sorted sets of the chain, shared with it (not copied): a new list is made only
    /// when a set changes, so a consumer can tell a changed set by its pointer.
    pub(crate) tools_used: Arc<[String]>,
    pub(crate) labels: Arc<[String]>,
    pub(crate) destinations: Arc<[String]>,
    pub(crate) impact_total: u32,
}

/// What an allowed call adds to the chain.
#[derive(Debug, Clone, Default)]
pub(crate) struct Contribution {
    pub(crate) tool: String,
    pub(crate) labels: Vec<String>,
    pub(crate) destinations: Vec<String>,
    pub(crate) weight: u32,
}

/// A sorted set of strings and its shared list, rebuilt only when the set changes (rarely: a
/// task uses a handful of tools, labels and destinations), so that taking a snapshot for each
/// call copies nothing.
#[derive(Debug)]
struct Strings {
    set: BTreeSet<String>,
    list: Arc<[String]>,
}

impl Default for Strings {
    fn default() -> Self {
        Self {
            set: BTreeSet::new(),
            list: Arc::from(Vec::new()),
        }
    }
}

impl Strings {
    fn extend(&mut self, items: impl IntoIterator<Item = String>) {
        self.extend_while(items, |_| true);
    }

    /// Inserts items while `room` says the set may grow; rebuilds the array if it changed.
    fn extend_while(
        &mut self,
        items: impl IntoIterator<Item = String>,
        room: impl Fn(usize) -> bool,
    ) {
        let mut changed = false;
        for item in items {
            if room(self.set.len()) && !self.set.contains(&item) {
                self.set.insert(item);
                changed = true;
            }
        }
        if changed {
            self.list = self.set.iter().cloned().collect();
        }
    }
}

#[derive(Debug, Default)]
struct State {
    calls: u64,
    tools_used: Strings,
    labels: Strings,
    destinations: Strings,
    impact_total: u32,
    /// Depth of each allowed call, kept for the most recent `window` calls so that children
    /// can find their parent.
    ///
    /// One ring, newest last, searched from the newest: a child's parent is almost always one
    /// of the last few calls, and a ring of 20-byte entries is a third of the memory of a hash
    /// map plus its eviction queue (a task's state must stay small for long tasks).
    recent: VecDeque<(CallId, u32)>,
    /// Bumped by every change (see [`Decisions::version`]).
    version: u64,
    /// Recent refusals (when, which tool), for noticing an agent that pivots when blocked;
    /// pruned to the window on every refusal.
    refusals: VecDeque<(OffsetDateTime, String)>,
    /// Why the tree is suspended, until a human reinstates it.
    suspended: Option<String>,
}

/// When repeated refusals suspend a task tree.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pivoting {
    pub(crate) max_refusals: Option<u32>,
    pub(crate) max_tool_refusals: Option<u32>,
    pub(crate) window: time::Duration,
}

/// Shared by a task and every task delegated from it, so a label read anywhere in the tree
/// arms the rules everywhere in it.
#[derive(Debug)]
pub(crate) struct Chain {
    state: Mutex<State>,
    window: usize,
}

/// The parent named by a call is not a known allowed call of this task tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnknownParent;

impl Chain {
    pub(crate) fn new(window: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            window: window.max(1),
        }
    }

    /// A chain continued from another process (a chain token): its calls, labels and
    /// cumulative impact so far count here as if made here.
    pub(crate) fn resumed(window: usize, calls: u64, labels: Vec<String>, impact: u32) -> Self {
        let chain = Self::new(window);
        {
            let mut decisions = chain.decide();
            let state = &mut *decisions.state;
            state.calls = calls;
            state.impact_total = impact;
            state.labels.extend(labels);
        }
        chain
    }

    /// The labels the tree holds now, sorted.
    pub(crate) fn labels(&self) -> Arc<[String]> {
        self.decide().state.labels.list.clone()
    }

    /// Takes the task tree's decision lock. Decisions made while holding it are
    /// linearizable (DESIGN "Parallel calls"): a call is counted, decided and committed as
    /// one step, so no two parallel calls both spend the last unit of a budget and a label
    /// committed by one is seen by every call decided after it. Never held while a human
    /// decides: the pipeline releases it for the approver and decides again after.
    pub(crate) fn decide(&self) -> Decisions<'_> {
        Decisions {
            // A panic elsewhere while holding the lock leaves counters that are still
            // consistent.
            state: self
                .state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            window: self.window,
        }
    }

    /// Whether a call of the tree read `label` (or a result added it).
    pub(crate) fn has_label(&self, label: &str) -> bool {
        self.decide().state.labels.set.contains(label)
    }

    /// Clears `label` from the tree (an approved declassification); whether it was held.
    pub(crate) fn remove_label(&self, label: &str) -> bool {
        let mut decisions = self.decide();
        let labels = &mut decisions.state.labels;
        if !labels.set.remove(label) {
            return false;
        }
        labels.list = labels.set.iter().cloned().collect();
        decisions.state.version += 1;
        true
    }

    /// Adds labels from a call's result (e.g. `untrusted` for fetched web content).
    pub(crate) fn add_labels(&self, labels: impl IntoIterator<Item = String>) {
        let mut decisions = self.decide();
        decisions.state.labels.extend(labels);
        decisions.state.version += 1;
    }
}

/// The task tree's chain, locked for deciding calls; see [`Chain::decide`].
pub(crate) struct Decisions<'a> {
    state: MutexGuard<'a, State>,
    window: usize,
}

impl Decisions<'_> {
    /// Counts a call as decided and returns the chain as it stood before it. The call's depth
    /// is its parent's + 1, or `base + 1` for a call without a parent (`base` is the depth its
    /// task was delegated at: 0 for a root task).
    pub(crate) fn begin_call(
        &mut self,
        parent: Option<CallId>,
        base: u32,
    ) -> (ChainSnapshot, Result<(), UnknownParent>) {
        let seen = self.peek(parent, base);
        self.state.calls += 1;
        self.state.version += 1;
        seen
    }

    /// The chain a call would see if it were counted now, without counting it.
    pub(crate) fn peek(
        &self,
        parent: Option<CallId>,
        base: u32,
    ) -> (ChainSnapshot, Result<(), UnknownParent>) {
        let depth = match parent {
            None => Ok(base.saturating_add(1)),
            Some(parent) => self
                .state
                .recent
                .iter()
                .rev()
                .find(|(call, _)| *call == parent)
                .map(|(_, d)| d.saturating_add(1))
                .ok_or(UnknownParent),
        };
        let snapshot = self.snapshot(*depth.as_ref().unwrap_or(&base.saturating_add(1)), 0);
        (snapshot, depth.map(|_| ()))
    }

    /// The chain as it stands now, for a call already counted by [`Decisions::begin_call`]
    /// that is decided again (after its approval): every call counted so far but itself.
    pub(crate) fn again(&self, depth: u32) -> ChainSnapshot {
        self.snapshot(depth, 1)
    }

    fn snapshot(&self, depth: u32, counted: u64) -> ChainSnapshot {
        let state = &*self.state;
        ChainSnapshot {
            depth,
            calls: state.calls.saturating_sub(counted),
            tools_used: state.tools_used.list.clone(),
            labels: state.labels.list.clone(),
            destinations: state.destinations.list.clone(),
            impact_total: state.impact_total,
        }
    }

    /// Changes with every call counted, committed or labelled: equal versions mean an equal
    /// chain.
    pub(crate) fn version(&self) -> u64 {
        self.state.version
    }

    /// Why the tree is suspended, if it is.
    pub(crate) fn suspended(&self) -> Option<&str> {
        self.state.suspended.as_deref()
    }

    /// Counts a refusal of `tool` at `now`; when it is one too many in the window, suspends
    /// the tree and returns why.
    pub(crate) fn refused(
        &mut self,
        now: OffsetDateTime,
        tool: &str,
        pivoting: Pivoting,
    ) -> Option<String> {
        let state = &mut *self.state;
        if state.suspended.is_some() {
            return None;
        }
        while state
            .refusals
            .front()
            .is_some_and(|(at, _)| *at + pivoting.window <= now)
        {
            state.refusals.pop_front();
        }
        state.refusals.push_back((now, tool.to_owned()));
        let total = state.refusals.len();
        let same = state.refusals.iter().filter(|(_, t)| t == tool).count();
        let over = |count: usize, max: Option<u32>| max.is_some_and(|m| count > m as usize);
        let why = if over(same, pivoting.max_tool_refusals) {
            format!("`{tool}` was refused {same} times")
        } else if over(total, pivoting.max_refusals) {
            format!("{total} calls were refused")
        } else {
            // Bounded: never more than the larger threshold is kept.
            let keep = [pivoting.max_refusals, pivoting.max_tool_refusals]
                .into_iter()
                .flatten()
                .max()
                .map_or(0, |m| m as usize + 1);
            while state.refusals.len() > keep {
                state.refusals.pop_front();
            }
            return None;
        };
        let why = format!("{why} within {} s", pivoting.window.whole_seconds());
        state.suspended = Some(why.clone());
        state.version += 1;
        Some(why)
    }

    /// Lifts a suspension; the refusal counts start over.
    pub(crate) fn reinstate(&mut self) -> bool {
        let state = &mut *self.state;
        state.refusals.clear();
        state.version += 1;
        state.suspended.take().is_some()
    }

    /// Records an allowed call: its depth (for children) and what it adds.
    pub(crate) fn commit(&mut self, call: CallId, depth: u32, contribution: Contribution) {
        let window = self.window;
        let state = &mut *self.state;
        state.tools_used.extend([contribution.tool]);
        state.labels.extend(contribution.labels);
        state
            .destinations
            .extend_while(contribution.destinations, |len| len < window);
        state.impact_total = state.impact_total.saturating_add(contribution.weight);
        if state.recent.len() >= window {
            state.recent.pop_front();
        }
        state.recent.push_back((call, depth));
        state.version += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_follows_parents_and_unknown_parents_are_reported() {
        let chain = Chain::new(8);
        let mut decisions = chain.decide();
        let (first, ok) = decisions.begin_call(None, 0);
        assert_eq!((first.depth, first.calls, ok), (1, 0, Ok(())));
        let root = CallId::new();
        decisions.commit(root, 1, Contribution::default());
        let (child, ok) = decisions.begin_call(Some(root), 0);
        assert_eq!((child.depth, child.calls, ok), (2, 1, Ok(())));
        let (_, unknown) = decisions.begin_call(Some(CallId::new()), 0);
        assert_eq!(unknown, Err(UnknownParent));
    }

    #[test]
    fn memory_stays_bounded_by_the_window() {
        let chain = Chain::new(4);
        for _ in 0..100 {
            let mut decisions = chain.decide();
            let _ = decisions.begin_call(None, 0);
            decisions.commit(CallId::new(), 1, Contribution::default());
        }
        let state = chain.decide().state;
        assert_eq!((state.recent.len(), state.calls), (4, 100));
    }
}
