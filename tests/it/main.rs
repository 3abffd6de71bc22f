//! The single integration-test binary (one link of the whole stack, not one per file).

mod api_double;
mod controller;
mod external;
mod no_secret_output;
mod sops_secret;
