//! The chain tracker: depth, call counts, labels, destinations and cumulative impact of a task
//! tree, the history of its last calls that ran, and the signals a call raises against them,
//! in bounded memory.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;

use crate::ids::CallId;
use crate::limits::Limits;

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
    /// The last [`HISTORY_LEN`] calls that ran, oldest first (shared, as the sets are).
    pub(crate) history: Arc<[Arc<Ran>]>,
    /// Calls that ran, per tool as called, sorted by name (see [`MAX_COUNTED_TOOLS`]).
    pub(crate) counts: Counts,
}

/// Calls that ran per tool name, sorted by name.
pub(crate) type Counts = Arc<[(Arc<str>, u64)]>;

/// How many calls that ran the history keeps (`chain.history.recent`).
pub(crate) const HISTORY_LEN: usize = 16;

/// How many distinct tool names `chain.history.counts` counts; calls of further names are
/// counted together under [`OTHER_TOOLS`].
pub(crate) const MAX_COUNTED_TOOLS: usize = 64;

/// The name the calls of tools past [`MAX_COUNTED_TOOLS`] are counted under.
pub(crate) const OTHER_TOOLS: &str = "*";

/// How many of the last calls `repeated_call` compares a call with.
pub(crate) const REPEAT_WINDOW: usize = Limits::MAX_REPEATED_CALLS as usize + 1;

/// One call that ran, as sequence rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ran {
    pub(crate) call: CallId,
    /// The tool as called (an undeclared tool run under the default tool keeps its own name).
    pub(crate) tool: Arc<str>,
    /// Whether a human approved it (`effect` `approval`), or the policy allowed it (`allow`).
    pub(crate) approved: bool,
    /// What it read: its tool's `reads`, then its result's labels once it completed.
    pub(crate) labels: Vec<String>,
    pub(crate) destinations: Vec<String>,
}

/// What an allowed call adds to the chain.
#[derive(Debug, Clone, Default)]
pub(crate) struct Contribution {
    /// The tool's declared name (`tools_used`).
    pub(crate) tool: String,
    /// The tool's name as called (the history).
    pub(crate) called: String,
    pub(crate) approved: bool,
    pub(crate) labels: Vec<String>,
    pub(crate) destinations: Vec<String>,
    pub(crate) weight: u32,
}

/// What the engine noticed about a call, for the policy (`chain.signals`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Signal {
    /// The call sends to a destination that no call of the tree that ran has named before and
    /// that the task's intent does not name.
    NewDestination { destination: String },
    /// The same tool with the same args was called `earlier` times among the tree's last
    /// [`REPEAT_WINDOW`] calls.
    RepeatedCall { tool: String, earlier: u32 },
    /// `calls` calls (this one included) within `window_s` seconds.
    Burst { calls: u32, window_s: u64 },
    /// None of the scopes the call requires has an action the intent names.
    UnimpliedTool { tool: String },
}

impl Signal {
    /// The signal's `kind`, as the policy reads it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Signal::NewDestination { .. } => "new_destination",
            Signal::RepeatedCall { .. } => "repeated_call",
            Signal::Burst { .. } => "burst",
            Signal::UnimpliedTool { .. } => "unimplied_tool",
        }
    }
}

/// When a call raises `repeated_call` and `burst` (from [`Limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Thresholds {
    pub(crate) repeated_calls: u32,
    pub(crate) burst_calls: u32,
    pub(crate) burst_window: time::Duration,
}

impl Thresholds {
    pub(crate) fn of(limits: &Limits) -> Self {
        Self {
            repeated_calls: limits.repeated_calls,
            burst_calls: limits.burst_calls,
            burst_window: time::Duration::try_from(limits.burst_window)
                .unwrap_or(time::Duration::MAX),
        }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Self::of(&Limits::default())
    }
}

/// What the signals of one call are computed from.
pub(crate) struct Probe<'a> {
    /// The tool as called.
    pub(crate) tool: &'a str,
    /// A hash of the tool and the args (equal calls, equal hashes).
    pub(crate) digest: u64,
    pub(crate) destinations: &'a [String],
    /// Whether the task's intent names a destination.
    pub(crate) named: &'a dyn Fn(&str) -> bool,
    /// Whether the intent implies the tool (see [`Signal::UnimpliedTool`]).
    pub(crate) implied: bool,
    pub(crate) now: OffsetDateTime,
}

/// The history of calls that ran: a ring of the last [`HISTORY_LEN`] and the counts per tool,
/// each with its shared list, rebuilt when it changes.
#[derive(Debug)]
struct History {
    ring: VecDeque<Arc<Ran>>,
    list: Arc<[Arc<Ran>]>,
    /// Sorted by name; replaced as a whole (one allocation) when a count changes, since the
    /// snapshots of earlier calls still share the old one.
    counts: Counts,
}

impl Default for History {
    fn default() -> Self {
        Self {
            ring: VecDeque::with_capacity(HISTORY_LEN),
            list: Arc::from(Vec::new()),
            counts: Arc::from(Vec::new()),
        }
    }
}

impl History {
    fn ran(
        &mut self,
        called: &str,
        approved: bool,
        call: CallId,
        labels: Vec<String>,
        destinations: Vec<String>,
    ) {
        let find = |name: &str| self.counts.binary_search_by(|(n, _)| (**n).cmp(name));
        let (tool, counted) = match find(called) {
            Ok(at) => (self.counts[at].0.clone(), Ok(at)),
            Err(at) if self.counts.len() < MAX_COUNTED_TOOLS => (Arc::from(called), Err(at)),
            Err(_) => (Arc::from(called), find(OTHER_TOOLS)),
        };
        self.counts = match counted {
            Ok(at) => self
                .counts
                .iter()
                .enumerate()
                .map(|(i, (name, count))| (name.clone(), count + u64::from(i == at)))
                .collect(),
            Err(at) => {
                let name = if self.counts.len() < MAX_COUNTED_TOOLS {
                    tool.clone()
                } else {
                    Arc::from(OTHER_TOOLS)
                };
                let mut counts = self.counts.to_vec();
                counts.insert(at, (name, 1));
                Arc::from(counts)
            }
        };
        if self.ring.len() >= HISTORY_LEN {
            self.ring.pop_front();
        }
        self.ring.push_back(Arc::new(Ran {
            call,
            tool,
            approved,
            labels,
            destinations,
        }));
        self.list = self.ring.iter().cloned().collect();
    }

    /// Adds a completed call's result labels to its entry, while it is still in the ring.
    fn labelled(&mut self, call: CallId, labels: &[String]) {
        let Some(entry) = self.ring.iter_mut().find(|ran| ran.call == call) else {
            return;
        };
        let new: Vec<&String> = labels
            .iter()
            .filter(|l| !entry.labels.contains(l))
            .collect();
        if new.is_empty() {
            return;
        }
        let mut ran = Ran::clone(entry);
        ran.labels.extend(new.into_iter().cloned());
        *entry = Arc::new(ran);
        self.list = self.ring.iter().cloned().collect();
    }
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
    history: History,
    /// Hashes of the last [`REPEAT_WINDOW`] calls that reached the policy (`repeated_call`).
    repeats: VecDeque<u64>,
    /// When the last `burst_calls` calls that reached the policy were decided (`burst`).
    times: VecDeque<OffsetDateTime>,
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
    thresholds: Thresholds,
}

/// The parent named by a call is not a known allowed call of this task tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnknownParent;

impl Chain {
    pub(crate) fn new(window: usize, thresholds: Thresholds) -> Self {
        Self {
            state: Mutex::new(State::default()),
            window: window.max(1),
            thresholds,
        }
    }

    /// A chain continued from another process (a chain token): its calls, labels and
    /// cumulative impact so far count here as if made here.
    pub(crate) fn resumed(
        window: usize,
        thresholds: Thresholds,
        calls: u64,
        labels: Vec<String>,
        impact: u32,
    ) -> Self {
        let chain = Self::new(window, thresholds);
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
            thresholds: self.thresholds,
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

    /// Adds labels from the result of `call` (e.g. `untrusted` for fetched web content), to
    /// the tree and to the call's history entry.
    pub(crate) fn add_labels(&self, call: CallId, labels: &[String]) {
        let mut decisions = self.decide();
        decisions.state.labels.extend(labels.iter().cloned());
        decisions.state.history.labelled(call, labels);
        decisions.state.version += 1;
    }

    /// How many entries each of the tracker's structures holds: what its memory is made of.
    #[cfg(any(test, feature = "bench"))]
    pub(crate) fn footprint(&self) -> Vec<(&'static str, usize)> {
        let decisions = self.decide();
        let state = &*decisions.state;
        vec![
            ("tools_used", state.tools_used.set.len()),
            ("labels", state.labels.set.len()),
            ("destinations", state.destinations.set.len()),
            ("parents", state.recent.len()),
            ("refusals", state.refusals.len()),
            ("history", state.history.ring.len()),
            ("history_list", state.history.list.len()),
            ("counts", state.history.counts.len()),
            ("repeats", state.repeats.len()),
            ("times", state.times.len()),
        ]
    }
}

/// The task tree's chain, locked for deciding calls; see [`Chain::decide`].
pub(crate) struct Decisions<'a> {
    state: MutexGuard<'a, State>,
    window: usize,
    thresholds: Thresholds,
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
            history: state.history.list.clone(),
            counts: state.history.counts.clone(),
        }
    }

    /// The signals `probe`'s call raises against the chain as it stands, without recording
    /// the call (an explanation, a decision taken again).
    pub(crate) fn signals(&self, probe: &Probe<'_>) -> Vec<Signal> {
        let state = &*self.state;
        let mut signals = Vec::new();
        for (index, destination) in probe.destinations.iter().enumerate() {
            let repeated = probe.destinations[..index].contains(destination);
            if !repeated
                && !state.destinations.set.contains(destination)
                && !(probe.named)(destination)
            {
                signals.push(Signal::NewDestination {
                    destination: destination.clone(),
                });
            }
        }
        let earlier = state.repeats.iter().filter(|d| **d == probe.digest).count();
        if earlier >= self.thresholds.repeated_calls as usize {
            signals.push(Signal::RepeatedCall {
                tool: probe.tool.to_owned(),
                earlier: u32::try_from(earlier).unwrap_or(u32::MAX),
            });
        }
        // The ring holds the last `burst_calls` calls in the order they were decided: when
        // it is full and its oldest is within the window, so are all of them. (A clock that
        // steps back makes the oldest look recent: the signal errs towards raising.)
        let window = self.thresholds.burst_window;
        let full = state.times.len() >= self.thresholds.burst_calls as usize;
        if full
            && state
                .times
                .front()
                .is_some_and(|at| probe.now - *at < window)
        {
            signals.push(Signal::Burst {
                calls: u32::try_from(state.times.len() + 1).unwrap_or(u32::MAX),
                window_s: u64::try_from(window.whole_seconds()).unwrap_or(0),
            });
        }
        if !probe.implied {
            signals.push(Signal::UnimpliedTool {
                tool: probe.tool.to_owned(),
            });
        }
        signals
    }

    /// The signals `probe`'s call raises (see [`Decisions::signals`]); the call is then
    /// remembered for the signals of later calls.
    pub(crate) fn observe(&mut self, probe: &Probe<'_>) -> Vec<Signal> {
        let signals = self.signals(probe);
        let keep = self.thresholds.burst_calls as usize;
        let state = &mut *self.state;
        if state.repeats.len() >= REPEAT_WINDOW {
            state.repeats.pop_front();
        }
        state.repeats.push_back(probe.digest);
        while state.times.len() >= keep.max(1) {
            state.times.pop_front();
        }
        state.times.push_back(probe.now);
        state.version += 1;
        signals
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
        let Contribution {
            tool,
            called,
            approved,
            labels: read,
            destinations,
            weight,
        } = contribution;
        // The sets copy only what they do not hold yet (rarely anything); the call's own
        // labels and destinations move into its history entry.
        let mut labels: Vec<String> = Vec::with_capacity(read.len());
        for label in read {
            if !labels.contains(&label) {
                labels.push(label);
            }
        }
        let new = |set: &BTreeSet<String>, items: &[String]| -> Vec<String> {
            items
                .iter()
                .filter(|i| !set.contains(*i))
                .cloned()
                .collect()
        };
        let new_labels = new(&state.labels.set, &labels);
        state.labels.extend(new_labels);
        let new_destinations = new(&state.destinations.set, &destinations);
        state
            .destinations
            .extend_while(new_destinations, |len| len < window);
        if !state.tools_used.set.contains(&tool) {
            state.tools_used.extend([tool]);
        }
        state
            .history
            .ran(&called, approved, call, labels, destinations);
        state.impact_total = state.impact_total.saturating_add(weight);
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
        let chain = Chain::new(8, Thresholds::default());
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
        let chain = Chain::new(4, Thresholds::default());
        for _ in 0..100 {
            let mut decisions = chain.decide();
            let _ = decisions.begin_call(None, 0);
            decisions.commit(CallId::new(), 1, Contribution::default());
        }
        let state = chain.decide().state;
        assert_eq!((state.recent.len(), state.calls), (4, 100));
    }

    fn probe<'a>(
        tool: &'a str,
        digest: u64,
        destinations: &'a [String],
        now: OffsetDateTime,
    ) -> Probe<'a> {
        Probe {
            tool,
            digest,
            destinations,
            named: &|d: &str| d == "named@acme.com",
            implied: tool != "stray",
            now,
        }
    }

    fn ran(tool: &str, destinations: &[&str]) -> Contribution {
        Contribution {
            tool: tool.into(),
            called: tool.into(),
            labels: vec!["pii".into(), "pii".into()],
            destinations: destinations.iter().map(|d| (*d).to_owned()).collect(),
            ..Contribution::default()
        }
    }

    fn kinds(signals: &[Signal]) -> Vec<&'static str> {
        signals.iter().map(Signal::kind).collect()
    }

    #[test]
    fn a_destination_is_new_until_a_call_to_it_ran_unless_the_intent_names_it() {
        let chain = Chain::new(8, Thresholds::default());
        let now = OffsetDateTime::UNIX_EPOCH;
        let to = |d: &str| vec![d.to_owned()];
        let mut decisions = chain.decide();
        let x = to("x@evil.com");
        let signals = decisions.observe(&probe("send", 1, &x, now));
        assert_eq!(
            signals,
            [Signal::NewDestination {
                destination: "x@evil.com".into()
            }]
        );
        let named = to("named@acme.com");
        assert!(decisions.signals(&probe("send", 2, &named, now)).is_empty());
        decisions.commit(CallId::new(), 1, ran("send", &["x@evil.com"]));
        assert!(decisions.signals(&probe("send", 3, &x, now)).is_empty());
        // One signal per destination, however often the call names it.
        let twice = vec!["y@evil.com".to_owned(), "y@evil.com".to_owned()];
        assert_eq!(decisions.signals(&probe("send", 4, &twice, now)).len(), 1);
    }

    #[test]
    fn the_third_identical_call_repeats_and_a_burst_needs_the_window() {
        let thresholds = Thresholds {
            repeated_calls: 2,
            burst_calls: 3,
            burst_window: time::Duration::seconds(10),
        };
        let chain = Chain::new(8, thresholds);
        let mut decisions = chain.decide();
        let start = OffsetDateTime::UNIX_EPOCH;
        let mut seen = Vec::new();
        for n in 0..4 {
            let at = start + time::Duration::seconds(n);
            seen.push(kinds(&decisions.observe(&probe("search", 7, &[], at))));
        }
        assert_eq!(
            seen,
            [
                vec![],
                vec![],
                vec!["repeated_call"],
                vec!["repeated_call", "burst"]
            ]
        );
        // Other args are another call; calls spread out are no burst.
        let later = start + time::Duration::seconds(60);
        assert!(decisions
            .observe(&probe("search", 8, &[], later))
            .is_empty());
        assert_eq!(
            kinds(&decisions.signals(&probe("stray", 9, &[], later))),
            ["unimplied_tool"]
        );
    }

    #[test]
    fn history_keeps_the_last_calls_that_ran_and_counts_every_one() {
        let chain = Chain::new(4, Thresholds::default());
        let mut calls = Vec::new();
        for n in 0..(HISTORY_LEN + 3) {
            let call = CallId::new();
            calls.push(call);
            let tool = if n % 2 == 0 { "refund" } else { "lookup" };
            chain.decide().commit(call, 1, ran(tool, &[]));
        }
        let last = *calls.last().unwrap();
        chain.add_labels(last, &["untrusted".to_owned(), "pii".to_owned()]);
        // A call gone from the ring keeps its labels in the tree only.
        chain.add_labels(calls[0], &["secret".to_owned()]);
        let (snapshot, _) = chain.decide().peek(None, 0);
        assert_eq!(snapshot.history.len(), HISTORY_LEN);
        assert_eq!(snapshot.history[HISTORY_LEN - 1].call, last);
        assert_eq!(
            snapshot.history[HISTORY_LEN - 1].labels,
            ["pii", "untrusted"]
        );
        let counts: Vec<(&str, u64)> = snapshot.counts.iter().map(|(t, n)| (&**t, *n)).collect();
        assert_eq!(counts, [("lookup", 9), ("refund", 10)]);
    }

    #[test]
    fn tools_past_the_counted_ones_are_counted_together() {
        let chain = Chain::new(4, Thresholds::default());
        for n in 0..(MAX_COUNTED_TOOLS + 5) {
            chain
                .decide()
                .commit(CallId::new(), 1, ran(&format!("t{n}"), &[]));
        }
        chain.decide().commit(CallId::new(), 1, ran("t0", &[]));
        let (snapshot, _) = chain.decide().peek(None, 0);
        assert_eq!(snapshot.counts.len(), MAX_COUNTED_TOOLS + 1);
        let count = |name: &str| {
            snapshot
                .counts
                .iter()
                .find(|(t, _)| &**t == name)
                .map(|c| c.1)
        };
        assert_eq!((count("t0"), count(OTHER_TOOLS)), (Some(2), Some(5)));
    }
}
