//! RSA sealing keys, the SealedSecret envelope, scopes and the keyring.
