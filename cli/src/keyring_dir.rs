//! The local keyring directory: the embedded default that lets every command run on a
//! laptop with no cluster (`~/.config/sealbox`, or `--keyring DIR` / `SEALBOX_KEYRING`).
