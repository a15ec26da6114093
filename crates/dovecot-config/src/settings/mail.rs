//! Storage and mail-process settings (mirrors the mail_storage and mail_user parts of
//! dovecot/core@2.3.19.1 src/lib-storage/mail-storage-settings.c; defaults from doveconf 2.3.19).

use std::time::Duration;

use super::settings_block;
use super::types::{FsyncMode, LockMethod, MboxLockMethod, Size};

settings_block! {
    /// Settings of the mail storage and of the mail user (uids, home, plugins).
    MailSettings {
        /// Mailbox location `[DRIVER:]ROOT[:KEY=VALUE]…` (alias `mail`); empty = autodetect.
        mail_location: String = "",
        /// Home directory when the userdb gives none (%-variables allowed).
        mail_home: String = "",
        /// System user (name or number) used when the userdb gives no uid.
        mail_uid: String = "",
        /// System group (name or number) used when the userdb gives no gid.
        mail_gid: String = "",
        /// Group kept as the saved gid, used for privileged operations such as mbox dotlocks.
        mail_privileged_group: String = "",
        /// Extra supplementary groups for mail processes (comma or space separated).
        mail_access_groups: Vec<String> = "",
        /// Directory to chroot into (`/./` in home splits chroot and home).
        mail_chroot: String = "",
        /// Colon-separated directories under which chrooting is allowed.
        valid_chroot_dirs: String = "",
        /// Lowest uid allowed for mail users.
        first_valid_uid: u32 = "500",
        /// Highest uid allowed for mail users (0 = no limit).
        last_valid_uid: u32 = "0",
        /// Lowest primary gid allowed for mail users.
        first_valid_gid: u32 = "1",
        /// Highest primary gid allowed for mail users (0 = no limit).
        last_valid_gid: u32 = "0",
        /// When to fsync files and directories.
        mail_fsync: FsyncMode = "optimized",
        /// Flush NFS caches for mail files.
        mail_nfs_storage: bool = "no",
        /// Flush NFS caches for index files.
        mail_nfs_index: bool = "no",
        /// Locking method for index files.
        lock_method: LockMethod = "fcntl",
        /// Create dotlocks with O_EXCL instead of link().
        dotlock_use_excl: bool = "yes",
        /// Directory for temporary files (large incoming messages are spooled here).
        mail_temp_dir: String = "/tmp",
        /// Debug logging for mail processes.
        mail_debug: bool = "no",
        /// Mail plugins to load, in order (`quota sieve`…).
        mail_plugins: Vec<String> = "",
        /// Directory Dovecot loads mail plugins from (Debian build path).
        mail_plugin_dir: String = "/usr/lib/dovecot/modules",
        /// Longest keyword name accepted.
        mail_max_keyword_length: u32 = "50",
        /// Save messages with CRLF line endings instead of LF.
        mail_save_crlf: bool = "no",
        /// Upper bound of every lock wait (0 = no cap).
        mail_max_lock_timeout: Duration = "0",
        /// Maintain the mailbox list index (dovecot.list.index*).
        mailbox_list_index: bool = "yes",
        /// Copy Maildir messages with hard links when possible.
        maildir_copy_with_hardlinks: bool = "yes",
        /// Assume only Dovecot changes cur/ and new/ (skip scans).
        maildir_very_dirty_syncs: bool = "no",
        /// stat() every directory entry to tell mailboxes from files.
        maildir_stat_dirs: bool = "no",
        /// Ignore wrong S= sizes in Maildir file names.
        maildir_broken_filename_sizes: bool = "no",
        /// Move new/ mails to cur/ on every sync.
        maildir_empty_new: bool = "no",
        /// Lock methods for reading mbox files, in order.
        mbox_read_locks: Vec<MboxLockMethod> = "fcntl",
        /// Lock methods for writing mbox files, in order (Debian's build default order).
        mbox_write_locks: Vec<MboxLockMethod> = "fcntl dotlock",
        /// Give up mbox locking after this long.
        mbox_lock_timeout: Duration = "5 mins",
        /// Override a stale mbox dotlock older than this.
        mbox_dotlock_change_timeout: Duration = "2 mins",
        /// Keep no index for mbox files smaller than this.
        mbox_min_index_size: Size = "0",
        /// Skip full mbox syncs when the file looks unchanged.
        mbox_dirty_syncs: bool = "yes",
        /// Never fully sync mbox files unless asked.
        mbox_very_dirty_syncs: bool = "no",
        /// Delay writing mbox header changes.
        mbox_lazy_writes: bool = "yes",
        /// Rewrite dovecot.index when an open replayed more log than this (hidden setting).
        mail_index_rewrite_min_log_bytes: Size = "8 k",
        /// Always rewrite dovecot.index once this much log is not in it (hidden setting).
        mail_index_rewrite_max_log_bytes: Size = "128 k",
        /// Rotate a log this large once it is old enough (hidden setting).
        mail_index_log_rotate_min_size: Size = "32 k",
        /// Always rotate a log larger than this (hidden setting).
        mail_index_log_rotate_max_size: Size = "1 M",
        /// Age a log of min_size must reach before it is rotated (hidden setting).
        mail_index_log_rotate_min_age: Duration = "5 mins",
        /// Delete dovecot.index.log.2 once older than this (hidden setting).
        mail_index_log2_max_age: Duration = "2 days",
    }
}
