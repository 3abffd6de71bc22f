//! One module per subcommand. Each exposes an `Args` struct (clap) and a `run` function.

pub mod cluster;
pub mod controller;
pub mod crds;
pub mod external;
pub mod keys;
pub mod quickstart;
pub mod render;
pub mod seal;
pub mod sops;
pub mod unseal;
