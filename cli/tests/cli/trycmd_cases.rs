//! Golden cases: help texts and bad input, with exact messages and exit codes.

#[test]
fn cli_golden_cases() {
    trycmd::TestCases::new()
        .register_bin(
            "sealbox",
            std::path::Path::new(env!("CARGO_BIN_EXE_sealbox")),
        )
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env("SEALBOX_KEYRING", "no-keyring")
        .env("COLUMNS", "100")
        .env("SEALED_SECRETS_CERT", "")
        .case("tests/cmd/*.trycmd");
}
