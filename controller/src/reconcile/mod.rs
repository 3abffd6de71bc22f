//! One planner per kind: "source object + inputs → [`Plan`](crate::apply::Plan)". Planners
//! are pure; the async shells in [`crate::run`] gather their inputs and hand the plans to
//! [`crate::apply`].

pub mod bookkeeping;
pub mod external;
pub mod reencrypt;
pub mod sealed;
pub mod sops;
