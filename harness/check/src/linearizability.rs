//! Linearizability of a concurrent history: is there one sequential order of its operations,
//! respecting real time (an operation that completed before another began comes first), in
//! which every answer is the one a sequential specification gives? This module owns the
//! search, independent of HTTP and of the DS: Wing and Gong's backtracking over the
//! operations that may come next, with Lowe's cache of (operations linearized, state) pairs
//! already explored, the algorithm porcupine implements (the set of operations linearized
//! kept as a hash). Histories of independent parts
//! (a DS's partitions) are checked one part at a time ([`partition`]), which is what makes
//! long histories tractable (P-compositionality).
//!
//! An operation whose answer never came (a timeout) has no completion time: it may have
//! taken effect at any moment after it began, or never — its specification step must accept
//! any effect.

use std::collections::{BTreeMap, HashSet};

/// The sequential behaviour a history is checked against.
pub trait Specification {
    type State: Clone;
    type Operation;
    /// The state after `op` in `state`, or `None` when its answer (part of the operation) is
    /// not one the specification gives there.
    fn step(&self, state: &Self::State, op: &Self::Operation) -> Option<Self::State>;
    /// Tells apart the states different orders reach: states with one fingerprint must
    /// answer every later operation alike (they are explored once).
    fn fingerprint(&self, state: &Self::State) -> u64;
}

/// One operation of a history with its times on the harness's monotonic clock.
#[derive(Clone, Debug)]
pub struct Event<O> {
    pub op: O,
    /// When it was invoked.
    pub call: u64,
    /// When its answer arrived; `None` if it never did.
    pub ret: Option<u64>,
}

impl<O> Event<O> {
    /// Whether this operation completed before `other` began (so precedes it in any order).
    pub fn precedes<P>(&self, other: &Event<P>) -> bool {
        self.ret.is_some_and(|ret| ret < other.call)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Linearizable,
    /// No order of the operations fits every answer.
    Violation,
    /// The search gave up after its budget of steps.
    Inconclusive,
}

/// Splits a history into its independent parts, each in the original order.
pub fn partition<K: Ord, O>(
    history: Vec<Event<O>>,
    key: impl Fn(&O) -> K,
) -> BTreeMap<K, Vec<Event<O>>> {
    let mut parts: BTreeMap<K, Vec<Event<O>>> = BTreeMap::new();
    for event in history {
        parts.entry(key(&event.op)).or_default().push(event);
    }
    parts
}

const NIL: usize = usize::MAX;

/// Below the top `KEEP_TOP` entries of the search's stack, one state in `KEEP_EVERY` is kept;
/// the others are stepped to again from the nearest kept one if the search ever backtracks
/// that far. A state costs what the step that made it changed (persistent structures share
/// the rest), so a long history's stack holds a 64th of it; backtracking is mostly shallow,
/// within the top, where it costs nothing more.
const KEEP_EVERY: usize = 64;
const KEEP_TOP: usize = 1024;

/// The events of a history as a doubly linked list in time order, from which linearized
/// operations are lifted out and put back in reverse order (dancing links).
struct Events {
    next: Vec<usize>,
    prev: Vec<usize>,
    /// The operation of each node; nodes `2i` and `2i + 1` are operation `i`'s call and return.
    /// Node `len` is the head.
    head: usize,
}

impl Events {
    fn new<O>(history: &[Event<O>]) -> Self {
        let mut order: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * history.len());
        for (i, e) in history.iter().enumerate() {
            order.push((e.call, false, 2 * i));
            // A return at the time of a call comes after it: they count as concurrent.
            order.push((e.ret.unwrap_or(u64::MAX), true, 2 * i + 1));
        }
        order.sort_unstable();
        let head = 2 * history.len();
        let mut next = vec![NIL; head + 1];
        let mut prev = vec![NIL; head + 1];
        let mut last = head;
        for &(_, _, node) in &order {
            next[last] = node;
            prev[node] = last;
            last = node;
        }
        Events { next, prev, head }
    }

    fn unlink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = node;
        if n != NIL {
            self.prev[n] = node;
        }
    }

    /// Takes operation `call / 2` out: its call, then its return.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(call + 1);
    }

    fn unlift(&mut self, call: usize) {
        self.relink(call + 1);
        self.relink(call);
    }
}

/// Whether `history` is linearizable with respect to `spec` from `initial`, exploring at most
/// `budget` steps (one step tries one operation in one state).
pub fn check<S: Specification>(
    spec: &S,
    initial: &S::State,
    history: &[Event<S::Operation>],
    budget: u64,
) -> Verdict {
    let mut events = Events::new(history);
    // The set of operations linearized, as the XOR of one random-looking key per operation
    // (Zobrist hashing): a cache entry costs 16 bytes however long the history, at the risk
    // of two sets colliding, one in 2^64.
    let key = |op: usize| {
        let mut z = (op as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut linearized = 0u64;
    let mut cache: HashSet<(u64, u64)> = HashSet::new();
    // The call node of each operation linearized, with the state before it if kept.
    let mut stack: Vec<(usize, Option<S::State>)> = Vec::new();
    let mut state = initial.clone();
    let mut node = events.next[events.head];
    let mut steps = 0u64;
    while events.next[events.head] != NIL {
        steps += 1;
        if steps > budget {
            return Verdict::Inconclusive;
        }
        if node % 2 == 0 {
            // A call: try to linearize its operation here.
            let op = node / 2;
            if let Some(after) = spec.step(&state, &history[op].op) {
                if cache.insert((linearized ^ key(op), spec.fingerprint(&after))) {
                    linearized ^= key(op);
                    let before = std::mem::replace(&mut state, after);
                    stack.push((node, Some(before)));
                    if let Some(old) = stack.len().checked_sub(KEEP_TOP + 1) {
                        if old % KEEP_EVERY != 0 {
                            stack[old].1 = None;
                        }
                    }
                    events.lift(node);
                    node = events.next[events.head];
                    continue;
                }
            }
            node = events.next[node];
        } else {
            // A return whose operation is not linearized yet: undo the last choice.
            let Some((call, before)) = stack.pop() else {
                return Verdict::Violation;
            };
            linearized ^= key(call / 2);
            state = match before {
                Some(before) => before,
                None => {
                    // The kept state below, stepped through the operations linearized since.
                    let kept = stack.len() / KEEP_EVERY * KEEP_EVERY;
                    let from = stack[kept].1.clone().expect("every 64th state is kept");
                    stack[kept..].iter().fold(from, |s, (call, _)| {
                        spec.step(&s, &history[call / 2].op)
                            .expect("a step taken once is taken again")
                    })
                }
            };
            events.unlift(call);
            node = events.next[call];
        }
    }
    Verdict::Linearizable
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log: appends add a value; a read at a position returns the values from there.
    struct Log;

    #[derive(Clone, Debug)]
    enum Op {
        /// `answered`: whether the append's acknowledgement arrived.
        Append(u32, bool),
        /// From a position; `None` when no answer came.
        Read(usize, Option<Vec<u32>>),
    }

    impl Specification for Log {
        type State = Vec<u32>;
        type Operation = Op;
        fn step(&self, log: &Vec<u32>, op: &Op) -> Option<Vec<u32>> {
            match op {
                Op::Append(v, _) => Some([&log[..], &[*v]].concat()),
                Op::Read(_, None) => Some(log.clone()),
                Op::Read(from, Some(got)) => {
                    (log.get(*from..).unwrap_or(&[]) == &got[..]).then(|| log.clone())
                }
            }
        }
        fn fingerprint(&self, log: &Vec<u32>) -> u64 {
            log.iter()
                .fold(17, |h, v| h.wrapping_mul(31).wrapping_add(*v as u64))
        }
    }

    fn at(op: Op, call: u64, ret: u64) -> Event<Op> {
        let ret = match &op {
            Op::Append(_, false) | Op::Read(_, None) => None,
            _ => Some(ret),
        };
        Event { op, call, ret }
    }

    fn verdict(history: &[Event<Op>]) -> Verdict {
        check(&Log, &Vec::new(), history, 1_000_000)
    }

    #[test]
    fn concurrent_appends_in_either_order_are_linearizable() {
        let history = [
            at(Op::Append(1, true), 0, 10),
            at(Op::Append(2, true), 1, 9),
            at(Op::Read(0, Some(vec![2, 1])), 11, 12),
            at(Op::Read(1, Some(vec![1])), 13, 14),
        ];
        assert_eq!(verdict(&history), Verdict::Linearizable);
        let other = [
            at(Op::Append(1, true), 0, 10),
            at(Op::Append(2, true), 1, 9),
            at(Op::Read(0, Some(vec![1, 2])), 11, 12),
        ];
        assert_eq!(verdict(&other), Verdict::Linearizable);
    }

    #[test]
    fn a_lost_append_is_a_violation() {
        let history = [
            at(Op::Append(1, true), 0, 10),
            at(Op::Append(2, true), 11, 20),
            at(Op::Read(0, Some(vec![2])), 21, 22),
        ];
        assert_eq!(verdict(&history), Verdict::Violation);
    }

    #[test]
    fn a_duplicated_append_is_a_violation() {
        let history = [
            at(Op::Append(1, true), 0, 10),
            at(Op::Read(0, Some(vec![1, 1])), 5, 22),
        ];
        assert_eq!(verdict(&history), Verdict::Violation);
    }

    #[test]
    fn reads_that_disagree_on_the_order_are_a_violation() {
        let history = [
            at(Op::Append(1, true), 0, 10),
            at(Op::Append(2, true), 0, 10),
            at(Op::Read(0, Some(vec![1, 2])), 11, 12),
            at(Op::Read(0, Some(vec![2, 1])), 13, 14),
        ];
        assert_eq!(verdict(&history), Verdict::Violation);
        // A read of a position that the other order filled differently.
        let positions = [
            at(Op::Append(1, true), 0, 10),
            at(Op::Append(2, true), 0, 10),
            at(Op::Read(1, Some(vec![2])), 11, 12),
            at(Op::Read(0, Some(vec![2, 1])), 13, 14),
        ];
        assert_eq!(verdict(&positions), Verdict::Violation);
    }

    /// The same answers are fine when the operations overlap and wrong when one completed
    /// before the other began: only real time tells them apart.
    #[test]
    fn a_stale_read_is_caught_only_through_real_time_order() {
        let overlapping = [
            at(Op::Append(1, true), 0, 10),
            at(Op::Read(0, Some(vec![])), 5, 30),
        ];
        assert_eq!(verdict(&overlapping), Verdict::Linearizable);
        let after = [
            at(Op::Append(1, true), 0, 10),
            at(Op::Read(0, Some(vec![])), 20, 30),
        ];
        assert_eq!(verdict(&after), Verdict::Violation);
    }

    #[test]
    fn an_unanswered_append_may_or_may_not_have_taken_effect() {
        for seen in [vec![], vec![7]] {
            let history = [
                at(Op::Append(7, false), 0, 0),
                at(Op::Read(0, Some(seen.clone())), 20, 30),
            ];
            assert_eq!(verdict(&history), Verdict::Linearizable, "{seen:?}");
        }
        // But not before it began.
        let early = [
            at(Op::Read(0, Some(vec![7])), 0, 5),
            at(Op::Append(7, false), 10, 0),
        ];
        assert_eq!(verdict(&early), Verdict::Violation);
    }

    /// Backtracking past states the stack did not keep steps to them again: three
    /// concurrent appends first, then a long sequence, then a read that fixes the first
    /// three's order; the whole log read is right only if every state restored on the way
    /// back (and stepped on from) is.
    #[test]
    fn backtracking_deep_in_a_long_history_restores_the_state() {
        let n = (KEEP_TOP + 2 * KEEP_EVERY) as u32 + 5;
        let sequential = (3..n).map(|i| at(Op::Append(i, true), 10 * i as u64, 10 * i as u64 + 1));
        let end = 10 * n as u64;
        let history = |first: [u32; 3]| -> Vec<Event<Op>> {
            let read = first.into_iter().chain(3..n).collect();
            (0..3)
                .map(|i| at(Op::Append(i, true), 0, 5))
                .chain(sequential.clone())
                .chain([at(Op::Read(0, Some(read)), end, end + 1)])
                .collect()
        };
        for first in [[0, 1, 2], [0, 2, 1], [2, 1, 0]] {
            assert_eq!(verdict(&history(first)), Verdict::Linearizable, "{first:?}");
        }
        assert_eq!(verdict(&history([0, 1, 1])), Verdict::Violation);
    }

    #[test]
    fn a_budget_too_small_is_inconclusive_and_parts_are_split_by_key() {
        let history: Vec<Event<Op>> = (0..20)
            .map(|i| at(Op::Append(i, true), 0, 100))
            .chain([at(Op::Read(0, Some(vec![99])), 200, 201)])
            .collect();
        assert_eq!(
            check(&Log, &Vec::new(), &history, 50),
            Verdict::Inconclusive
        );
        let parts = partition(history, |op| matches!(op, Op::Read(..)));
        assert_eq!(parts[&false].len(), 20);
        assert_eq!(parts[&true].len(), 1);
    }
}
