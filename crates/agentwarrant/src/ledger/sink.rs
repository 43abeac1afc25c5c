//! Storage of your own for the ledger: implement [`Sink`], wrap it in a [`SinkLedger`], and the
//! library seals every record before the sink sees it.

use std::sync::{Mutex, MutexGuard};

use super::checkpoint::{self, CheckpointKey, Checkpoints};
use super::encode::{Encoded, Sealer};
use super::{Head, Ledger, Record};
use crate::error::LedgerError;

/// A record sealed by the library, as a sink stores it.
#[derive(Debug, Clone, Copy)]
pub struct SealedRecord<'a> {
    /// The record with its `schema`, `seq`, `prev` and `hash` set.
    pub record: &'a Record,
    /// Its canonical JSON line (no newline): the exact bytes `verify` checks. Store these
    /// bytes, not a re-serialization of `record`, to keep the ledger verifiable.
    pub line: &'a str,
}

/// Where a [`SinkLedger`] stores sealed records: a database table, a log pipeline, an object
/// store. The sink stores; the library seals, so the hash chain is right whatever the storage.
///
/// ```
/// use std::sync::Mutex;
/// use agentwarrant::ledger::{Head, SealedRecord, Sink, SinkLedger, GENESIS};
/// use agentwarrant::LedgerError;
///
/// /// Keeps lines in a vector (a database would insert rows).
/// #[derive(Default)]
/// struct Lines(Mutex<Vec<String>>);
///
/// impl Sink for Lines {
///     fn head(&self) -> Result<Head, LedgerError> {
///         Ok(Head { records: 0, hash: GENESIS.to_owned() })
///     }
///     fn store(&self, sealed: SealedRecord<'_>) -> Result<(), LedgerError> {
///         self.0.lock().unwrap().push(sealed.line.to_owned());
///         Ok(())
///     }
/// }
///
/// let ledger = SinkLedger::open(Lines::default())?;
/// # Ok::<(), LedgerError>(())
/// ```
pub trait Sink: Send + Sync {
    /// The last record already stored (`records` 0 and [`GENESIS`](super::GENESIS) when
    /// empty): the chain continues from it. Read once, when the ledger opens.
    fn head(&self) -> Result<Head, LedgerError>;

    /// Stores one sealed record. Records arrive one at a time, in chain order. Return `Ok`
    /// only once the record is stored: an error refuses the call it records, and the next
    /// record takes its place in the chain.
    fn store(&self, sealed: SealedRecord<'_>) -> Result<(), LedgerError>;

    /// Makes stored records durable, for sinks that buffer; the default does nothing.
    fn flush(&self) -> Result<(), LedgerError> {
        Ok(())
    }
}

/// A [`Ledger`] over a [`Sink`]: seals each record and hands it to the sink, in order.
///
/// With checkpoints ([`SinkLedger::with_checkpoints`]), dropping the ledger stores a signed
/// closing checkpoint, as a [`FileLedger`](super::FileLedger) does: a chain that does not end
/// on one was cut short, or is still being written.
pub struct SinkLedger<S> {
    sink: S,
    sealer: Mutex<Sealer>,
    checkpoints: Option<Checkpoints>,
    /// Stores the closing checkpoint; set by `open`, where `S: Sink` is known, so that `Drop`
    /// needs no bound the struct does not have.
    close: fn(&SinkLedger<S>),
}

impl<S> std::fmt::Debug for SinkLedger<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkLedger").finish_non_exhaustive()
    }
}

impl<S: Sink> SinkLedger<S> {
    /// Continues the chain the sink holds.
    pub fn open(sink: S) -> Result<Self, LedgerError> {
        let head = sink.head()?;
        Ok(Self {
            sealer: Mutex::new(Sealer::resume(head.records, head.hash)),
            sink,
            checkpoints: None,
            close: Self::close,
        })
    }

    /// Stores the closing checkpoint of a ledger with checkpoints.
    fn close(&self) {
        if self.checkpoints.is_none() {
            return;
        }
        let stored = self
            .sealer()
            .and_then(|mut sealer| self.store(&mut sealer, checkpoint::placeholder(true), None));
        if let Err(error) = stored {
            tracing::error!(target: "agentwarrant::ledger", %error, "could not store the closing checkpoint");
        }
    }

    /// Signs a checkpoint with `key` every `every` records, as a
    /// [`FileLedger`](super::FileLedger) does.
    pub fn with_checkpoints(mut self, key: CheckpointKey, every: u64) -> Self {
        let checkpoints = Checkpoints {
            key,
            every: every.max(1),
        };
        if let Ok(sealer) = self.sealer.get_mut() {
            *sealer = std::mem::take(sealer).with_checkpoints(Some(checkpoints.clone()));
        }
        self.checkpoints = Some(checkpoints);
        self
    }

    /// Seals `record` as the next record and hands it to the sink; the chain moves on only
    /// when the sink stored it.
    fn store(
        &self,
        sealer: &mut Sealer,
        mut record: Record,
        encoded: Option<Encoded>,
    ) -> Result<u64, LedgerError> {
        let mut next = sealer.clone();
        let (seal, encoded) = next.seal_next(&mut record, encoded);
        let mut line = Vec::new();
        encoded.line_into(&seal, &mut line);
        let line = String::from_utf8(line).map_err(|e| LedgerError::Encode {
            message: e.to_string(),
        })?;
        self.sink.store(SealedRecord {
            record: &record,
            line: &line,
        })?;
        *sealer = next;
        Ok(seal.seq)
    }

    /// The sink.
    pub fn sink(&self) -> &S {
        &self.sink
    }

    fn sealer(&self) -> Result<MutexGuard<'_, Sealer>, LedgerError> {
        self.sealer
            .lock()
            .map_err(|_| LedgerError::other("<sink>", "the ledger lock is poisoned"))
    }
}

impl<S> Drop for SinkLedger<S> {
    /// Stores the closing checkpoint, when the ledger has checkpoints.
    fn drop(&mut self) {
        (self.close)(self);
    }
}

impl<S: Sink> Ledger for SinkLedger<S> {
    fn append(&self, record: Record) -> Result<u64, LedgerError> {
        let encoded = Encoded::new(&record);
        // INVARIANT: the sealer is held until the sink answers, so records reach it in order
        // and a refused record leaves the chain where it was.
        let mut sealer = self.sealer()?;
        if self
            .checkpoints
            .as_ref()
            .is_some_and(|c| c.is_slot(sealer.next_seq()))
        {
            self.store(&mut sealer, checkpoint::placeholder(false), None)?;
        }
        self.store(&mut sealer, record, Some(encoded))
    }

    fn flush(&self) -> Result<(), LedgerError> {
        self.sink.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ledger::{verify_reader, GENESIS};

    /// Keeps the lines it is given where the test can read them after the ledger is gone.
    struct Lines(Arc<Mutex<Vec<String>>>);

    impl Sink for Lines {
        fn head(&self) -> Result<Head, LedgerError> {
            Ok(Head {
                records: 0,
                hash: GENESIS.to_owned(),
            })
        }
        fn store(&self, sealed: SealedRecord<'_>) -> Result<(), LedgerError> {
            let mut lines = self
                .0
                .lock()
                .map_err(|_| LedgerError::other("t", "poisoned"))?;
            lines.push(sealed.line.to_owned());
            Ok(())
        }
    }

    fn stored(lines: &Arc<Mutex<Vec<String>>>) -> String {
        let lines = lines.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().map(|line| format!("{line}\n")).collect()
    }

    #[test]
    fn a_ledger_with_checkpoints_closes_on_a_signed_checkpoint_when_dropped() {
        let key = CheckpointKey::from_bytes([7; 32]);
        let verifying = key.verifying_key();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let ledger = SinkLedger::open(Lines(lines.clone()))
            .map(|ledger| ledger.with_checkpoints(key, 2))
            .unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..3 {
            let mut record = checkpoint::placeholder(false);
            record.kind = super::super::RecordKind::TaskBegun;
            ledger.append(record).unwrap_or_else(|e| panic!("{e}"));
        }
        let open = verify_reader(stored(&lines).as_bytes(), Some(&verifying));
        assert!(open.is_ok_and(|report| !report.closed));
        drop(ledger);
        let closed = verify_reader(stored(&lines).as_bytes(), Some(&verifying));
        assert!(closed.is_ok_and(|report| report.closed && report.unsigned_tail == 0));
    }

    #[test]
    fn a_ledger_without_checkpoints_stores_nothing_when_dropped() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        drop(SinkLedger::open(Lines(lines.clone())));
        assert!(stored(&lines).is_empty());
    }
}
