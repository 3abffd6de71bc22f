//! sealbox-providers — external secret stores behind one interface.
//!
//! Talks to AWS Secrets Manager, Vault, or an in-memory fake; never to Kubernetes.
