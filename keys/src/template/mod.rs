//! Go `text/template` with the sprig and ESO function sets.
