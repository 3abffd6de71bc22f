//! sealbox-controller — everything that talks to the Kubernetes API server.

pub mod api;
pub mod apply;
pub mod http;
pub mod keystore;
pub mod metrics;
pub mod reconcile;
pub mod run;
