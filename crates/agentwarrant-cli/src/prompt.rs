//! The approver of `agentwarrant demo --interactive`: every approval request is shown on the
//! terminal, and the person there types who they are to approve it or an empty line to refuse.
//!
//! The answer goes to the engine as typed: whether that person may approve this call (a human,
//! not the agent's owner under four eyes, ...) is the engine's check, not the prompt's.
//!
//! Standard input is read by one thread for the whole session, and each request takes only the
//! lines typed after it was shown: a line typed ahead (before the request was on the screen)
//! never answers it. The approver runs under [`agentwarrant::Timeout`], which gives up on a
//! request and leaves its prompt waiting; the next request takes the terminal over from it, so
//! an abandoned prompt never eats an answer meant for a later one.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use agentwarrant::{Approval, ApprovalAnswer, ApprovalRequest, Approver, ApproverError, CallId};

/// What the person is asked after each request.
pub(crate) const PROMPT: &str = "approve as (email, empty to refuse): ";

/// What the engine is told when the person refuses.
const REFUSED: &str = "refused at the terminal";

/// What one line typed at the prompt means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Approve as this principal (the line as typed, without surrounding whitespace).
    Approve(String),
    /// An empty line, `n` or `no`: refuse.
    Refuse,
    /// `y` or `yes`: the prompt asks who approves, not whether; ask again.
    Unclear,
    /// Standard input ended (Ctrl-D): nobody will answer; the call is refused.
    EndOfInput,
}

/// Reads one line typed at the prompt (`None`: standard input ended).
pub(crate) fn parse(line: Option<&str>) -> Reply {
    let Some(line) = line else {
        return Reply::EndOfInput;
    };
    let text = line.trim();
    match text.to_ascii_lowercase().as_str() {
        "" | "n" | "no" => Reply::Refuse,
        "y" | "yes" => Reply::Unclear,
        _ => Reply::Approve(text.to_owned()),
    }
}

/// How a request shown at the prompt was answered, for the session's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answered {
    /// The person approved as this principal (the engine may still reject the approval).
    Approved(String),
    /// The person refused.
    Refused,
    /// No answer came: end of input, a read error, or no answer in time.
    Nothing,
}

/// Standard input, line by line, shared by every request of the session.
#[derive(Default)]
struct Input {
    state: Mutex<InputState>,
    arrived: Condvar,
}

#[derive(Default)]
struct InputState {
    /// Lines typed since the current request was shown.
    lines: VecDeque<String>,
    /// Why no more lines will come: end of input or a read error.
    closed: Option<String>,
    /// The number of the request the terminal belongs to: only it takes lines.
    current: u64,
    /// Whether the thread reading standard input runs.
    reading: bool,
}

impl Input {
    fn lock(&self) -> MutexGuard<'_, InputState> {
        // A panic elsewhere cannot leave these plain values half-updated.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the thread that reads standard input, once.
    fn start(self: &Arc<Self>) -> Result<(), ApproverError> {
        let mut state = self.lock();
        if state.reading {
            return Ok(());
        }
        let input = Arc::clone(self);
        std::thread::Builder::new()
            .name("agentwarrant-stdin".into())
            .spawn(move || input.read_all())
            .map_err(|e| ApproverError::new(format!("cannot read the terminal: {e}")))?;
        state.reading = true;
        Ok(())
    }

    /// Reads standard input to its end, handing over each line as it comes.
    fn read_all(&self) {
        let stdin = std::io::stdin();
        let mut stdin = stdin.lock();
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = stdin.read_until(b'\n', &mut line);
            let mut state = self.lock();
            match read {
                Ok(0) => state.closed = Some("end of input".into()),
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    state
                        .lines
                        .push_back(text.trim_end_matches(['\n', '\r']).to_owned());
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => state.closed = Some(format!("cannot read the terminal: {error}")),
            }
            let done = state.closed.is_some();
            drop(state);
            self.arrived.notify_all();
            if done {
                return;
            }
        }
    }

    /// Takes the terminal for a new request: lines typed before it are dropped, and any
    /// request still waiting stops waiting. Returns the request's number.
    fn take_over(&self) -> u64 {
        let mut state = self.lock();
        state.current += 1;
        state.lines.clear();
        let number = state.current;
        drop(state);
        self.arrived.notify_all();
        number
    }

    /// The next line typed for request `number`; `Ok(None)` when input ended, `Err` when a
    /// later request took the terminal over or input cannot be read.
    fn next_line(&self, number: u64) -> Result<Option<String>, ApproverError> {
        let mut state = self.lock();
        loop {
            if state.current != number {
                return Err(ApproverError::new("a later request took over the terminal"));
            }
            if let Some(line) = state.lines.pop_front() {
                return Ok(Some(line));
            }
            match &state.closed {
                Some(why) if why == "end of input" => return Ok(None),
                Some(why) => return Err(ApproverError::new(why.clone())),
                None => {}
            }
            state = self.arrived.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Asks the person at the terminal. Clones share the terminal and the record of answers.
#[derive(Clone, Default)]
pub(crate) struct Prompter {
    input: Arc<Input>,
    answers: Arc<Mutex<Vec<(CallId, Answered)>>>,
}

impl Prompter {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// How many requests were shown so far.
    pub(crate) fn asked(&self) -> usize {
        self.lock_answers().len()
    }

    /// How the request for `call` was answered, if it was shown.
    pub(crate) fn answer(&self, call: CallId) -> Option<Answered> {
        self.lock_answers()
            .iter()
            .rev()
            .find(|(id, _)| *id == call)
            .map(|(_, answered)| answered.clone())
    }

    fn lock_answers(&self) -> MutexGuard<'_, Vec<(CallId, Answered)>> {
        self.answers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn note(&self, call: CallId, answered: Answered) {
        let mut answers = self.lock_answers();
        match answers.iter_mut().rev().find(|(id, _)| *id == call) {
            Some(entry) => entry.1 = answered,
            None => answers.push((call, answered)),
        }
    }
}

/// Writes to the terminal. The conversation goes to standard error, so that standard output
/// holds the session's table alone; a terminal that cannot be written is not an answer.
fn say(text: std::fmt::Arguments<'_>) -> Result<(), ApproverError> {
    let mut stderr = std::io::stderr().lock();
    stderr
        .write_fmt(text)
        .and_then(|()| stderr.flush())
        .map_err(|e| ApproverError::new(format!("cannot write to the terminal: {e}")))
}

/// Tells the person at the terminal what became of their answer (on one line).
pub(crate) fn tell(text: std::fmt::Arguments<'_>) {
    // The session goes on without this line if the terminal cannot take it.
    let _ = say(format_args!("{text}\n"));
}

impl Approver for Prompter {
    fn decide(&self, request: &ApprovalRequest) -> Result<ApprovalAnswer, ApproverError> {
        self.input.start()?;
        let number = self.input.take_over();
        self.note(request.call_id, Answered::Nothing);
        say(format_args!("\n{request}\n{PROMPT}"))?;
        loop {
            let line = self.input.next_line(number)?;
            match parse(line.as_deref()) {
                Reply::Approve(who) => {
                    self.note(request.call_id, Answered::Approved(who.clone()));
                    return Ok(ApprovalAnswer::Approved(vec![Approval::of(request, who)]));
                }
                Reply::Refuse => {
                    self.note(request.call_id, Answered::Refused);
                    return Ok(ApprovalAnswer::Denied {
                        by: None,
                        reason: Some(REFUSED.into()),
                    });
                }
                Reply::Unclear => say(format_args!(
                    "type who you are to approve (such as bob@acme.com), or press Enter to refuse\n{PROMPT}"
                ))?,
                Reply::EndOfInput => {
                    say(format_args!("\n(end of input: refused)\n"))?;
                    return Err(ApproverError::new(
                        "standard input ended before an answer",
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_approves_an_empty_line_or_n_refuses_and_end_of_input_refuses() {
        assert_eq!(
            parse(Some("bob@acme.com")),
            Reply::Approve("bob@acme.com".into())
        );
        assert_eq!(
            parse(Some("  bob@acme.com \r")),
            Reply::Approve("bob@acme.com".into())
        );
        // Passed on as typed: whether this person may approve is the engine's check.
        assert_eq!(
            parse(Some("alice@acme.com")),
            Reply::Approve("alice@acme.com".into())
        );
        for refusal in ["", "   ", "n", "N", "no", " No "] {
            assert_eq!(parse(Some(refusal)), Reply::Refuse, "{refusal:?}");
        }
        for unclear in ["y", "Y", "yes", "YES "] {
            assert_eq!(parse(Some(unclear)), Reply::Unclear, "{unclear:?}");
        }
        assert_eq!(parse(None), Reply::EndOfInput);
    }

    #[test]
    fn a_request_takes_only_lines_typed_after_it_was_shown_and_a_later_one_takes_over() {
        let input = Input::default();
        input.lock().lines.push_back("typed ahead".into());
        let first = input.take_over();
        input.lock().lines.push_back("bob@acme.com".into());
        assert_eq!(
            input.next_line(first).unwrap().as_deref(),
            Some("bob@acme.com")
        );
        let second = input.take_over();
        assert!(
            input.next_line(first).is_err(),
            "a request given up waits no more"
        );
        input.lock().closed = Some("end of input".into());
        assert_eq!(input.next_line(second).unwrap(), None);
    }
}
