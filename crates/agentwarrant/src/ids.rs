//! Identifier newtypes: one type per kind of name, so they cannot be mixed up.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A generated identifier for a task, a call or a grant.
macro_rules! generated_id {
    ($(#[$doc:meta])* $ty:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $ty(uuid::Uuid);

        impl $ty {
            /// A fresh random identifier.
            pub fn new() -> Self {
                Self(uuid::Uuid::new_v4())
            }

            /// The identifier as a hyphenated UUID.
            pub fn to_uuid(self) -> uuid::Uuid {
                self.0
            }
        }

        impl Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::str::FromStr for $ty {
            type Err = uuid::Error;

            /// Parses the hyphenated UUID form that `Display` prints, e.g. a parent call id
            /// carried across a process boundary.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

generated_id!(
    /// Identifies one task (a unit of agent work with its own grant).
    TaskId
);
generated_id!(
    /// Identifies one tool call.
    CallId
);
generated_id!(
    /// Identifies one grant (a just-in-time credential).
    GrantId
);
generated_id!(
    /// Identifies one deferred approval request: the key a human's answer is filed under and
    /// the run resumes with.
    TicketId
);

#[cfg(test)]
mod tests {
    use super::CallId;

    #[test]
    fn call_ids_round_trip_through_text() {
        let id = CallId::new();
        assert_eq!(id.to_string().parse::<CallId>().ok(), Some(id));
        assert!("not-a-call".parse::<CallId>().is_err());
    }
}
