//! The SOPS file format (sops 3.x compatible).
