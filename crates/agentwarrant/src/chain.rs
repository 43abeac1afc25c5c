//! The chain tracker: depth, call counts, labels, destinations and cumulative impact of a task
//! tree, in bounded memory.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

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

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves counters that are still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a call as decided and returns the chain as it stood before it. The call's depth
    /// is its parent's + 1, or `base + 1` for a call without a parent (`base` is the depth its
    /// task was delegated at: 0 for a root task).
    pub(crate) fn begin_call(
        &self,
        parent: Option<CallId>,
        base: u32,
    ) -> (ChainSnapshot, Result<(), UnknownParent>) {
        let mut state = self.lock();
        let depth = match parent {
            None => Ok(base.saturating_add(1)),
            Some(parent) => state
                .recent
                .iter()
                .rev()
                .find(|(call, _)| *call == parent)
                .map(|(_, d)| d.saturating_add(1))
                .ok_or(UnknownParent),
        };
        let snapshot = ChainSnapshot {
            depth: *depth.as_ref().unwrap_or(&base.saturating_add(1)),
            calls: state.calls,
            tools_used: state.tools_used.list.clone(),
            labels: state.labels.list.clone(),
            destinations: state.destinations.list.clone(),
            impact_total: state.impact_total,
        };
        state.calls += 1;
        (snapshot, depth.map(|_| ()))
    }

    /// Records an allowed call: its depth (for children) and what it adds.
    pub(crate) fn commit(&self, call: CallId, depth: u32, contribution: Contribution) {
        let mut state = self.lock();
        state.tools_used.extend([contribution.tool]);
        state.labels.extend(contribution.labels);
        let window = self.window;
        state
            .destinations
            .extend_while(contribution.destinations, |len| len < window);
        state.impact_total = state.impact_total.saturating_add(contribution.weight);
        if state.recent.len() >= self.window {
            state.recent.pop_front();
        }
        state.recent.push_back((call, depth));
    }

    /// Adds labels from a call's result (e.g. `untrusted` for fetched web content).
    pub(crate) fn add_labels(&self, labels: impl IntoIterator<Item = String>) {
        self.lock().labels.extend(labels);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_follows_parents_and_unknown_parents_are_reported() {
        let chain = Chain::new(8);
        let (first, ok) = chain.begin_call(None, 0);
        assert_eq!((first.depth, first.calls, ok), (1, 0, Ok(())));
        let root = CallId::new();
        chain.commit(root, 1, Contribution::default());
        let (child, ok) = chain.begin_call(Some(root), 0);
        assert_eq!((child.depth, child.calls, ok), (2, 1, Ok(())));
        let (_, unknown) = chain.begin_call(Some(CallId::new()), 0);
        assert_eq!(unknown, Err(UnknownParent));
    }

    #[test]
    fn memory_stays_bounded_by_the_window() {
        let chain = Chain::new(4);
        for _ in 0..100 {
            let _ = chain.begin_call(None, 0);
            chain.commit(CallId::new(), 1, Contribution::default());
        }
        let state = chain.lock();
        assert_eq!((state.recent.len(), state.calls), (4, 100));
    }
}
