//! sealbox-providers against real servers on 127.0.0.1: moto (AWS Secrets Manager) and
//! OpenBao (Vault API). The servers come from `SEALBOX_TEST_MOTO_URL` /
//! `SEALBOX_TEST_VAULT_ADDR` (+ `SEALBOX_TEST_VAULT_TOKEN`, default `root`) or, when unset,
//! are started through `scripts/peers/*.sh` on fixed ports so that every test process
//! shares them. A server that cannot be started fails the test with a message saying to
//! run `scripts/test`. Call-count and outage tests use their own servers.

mod aws;
mod support;
mod vault;
