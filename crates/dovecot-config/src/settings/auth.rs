//! Settings about the auth server as a client sees it (mirrors the auth parts of
//! dovecot/core@2.3.19.1 src/lib-storage/mail-storage-settings.c and src/auth/auth-settings.c).

use super::settings_block;

settings_block! {
    /// How the LDA reaches the auth server for `-d` lookups.
    AuthSettings {
        /// auth-userdb socket; relative paths are under `base_dir`.
        auth_socket_path: String = "auth-userdb",
        /// How the auth server normalises user names (`%Lu` lowercases).
        auth_username_format: String = "%Lu",
        /// Debug logging in the auth server.
        auth_debug: bool = "no",
        /// Verbose logging in the auth server.
        auth_verbose: bool = "no",
    }
}
