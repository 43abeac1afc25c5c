//! `agentwarrant approvals list|show|approve|deny --db URL`: the deferred approval requests a
//! fleet keeps in PostgreSQL, listed and answered from a terminal.

use agentwarrant::{ApprovalStore, TicketId, TicketState};
use agentwarrant_postgres::PostgresApprovals;

use crate::{FAILURE, SUCCESS};

/// What to do with the waiting requests.
pub(crate) enum Action {
    List,
    Show(String),
    Approve {
        ticket: String,
        by: Vec<String>,
    },
    Deny {
        ticket: String,
        by: String,
        reason: Option<String>,
    },
}

pub(crate) fn run(db: &str, schema: &str, action: Action) -> Result<u8, String> {
    let store = PostgresApprovals::builder(db)
        .schema(schema)
        .build()
        .map_err(|e| e.to_string())?;
    let ticket_id = |text: &str| {
        text.parse::<TicketId>()
            .map_err(|_| format!("`{text}` is not a ticket id"))
    };
    match action {
        Action::List => {
            let waiting = store.waiting().map_err(|e| e.to_string())?;
            if waiting.is_empty() {
                out!("no request is waiting");
            }
            for ticket in waiting {
                let request = ticket.request();
                let reasons: Vec<&str> = request.reasons.iter().map(|r| r.code.as_str()).collect();
                out!(
                    "{}  {}  {}  {}",
                    ticket.id(),
                    request.tool,
                    request.identity,
                    reasons.join(",")
                );
            }
            Ok(SUCCESS)
        }
        Action::Show(ticket) => {
            let id = ticket_id(&ticket)?;
            match store
                .waiting()
                .map_err(|e| e.to_string())?
                .into_iter()
                .find(|t| t.id() == id)
            {
                Some(ticket) => {
                    out!("{ticket}");
                    Ok(SUCCESS)
                }
                None => {
                    let state = store.state(id).map_err(|e| e.to_string())?;
                    let said = match state {
                        TicketState::Open { .. } => {
                            "already answered, waiting for the run to resume"
                        }
                        TicketState::Closed { .. } => "taken up or abandoned",
                        _ => "unknown",
                    };
                    eprintln!("ticket {id} is not waiting: {said}");
                    Ok(FAILURE)
                }
            }
        }
        Action::Approve { ticket, by } => {
            let id = ticket_id(&ticket)?;
            let by: Vec<&str> = by.iter().map(String::as_str).collect();
            answered(store.approve(id, &by), id, "approved")
        }
        Action::Deny { ticket, by, reason } => {
            let id = ticket_id(&ticket)?;
            answered(store.deny(id, &by, reason.as_deref()), id, "denied")
        }
    }
}

fn answered(
    result: Result<(), agentwarrant::ApprovalStoreError>,
    id: TicketId,
    how: &str,
) -> Result<u8, String> {
    match result {
        Ok(()) => {
            out!("ticket {id} {how}; the run resumes with it");
            Ok(SUCCESS)
        }
        Err(error) => {
            eprintln!("ticket {id}: {error} ({})", error.code());
            Ok(FAILURE)
        }
    }
}
