//! One module per subcommand. Each exposes an `Args` struct (clap) and a `run` function.
