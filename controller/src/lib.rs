//! sealbox-controller — everything that talks to the Kubernetes API server.

pub mod api;
