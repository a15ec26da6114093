//! The one `fcntl` lock call this crate makes, for mbox files (`mbox_write_locks = fcntl`) and
//! for Dovecot's index log and cache.

use std::fs::File;

/// `F_OFD_SETLK` with `kind` (`F_WRLCK`/`F_UNLCK`) on the whole file. An open-file-description
/// lock conflicts with the classic `F_SETLKW` lock Dovecot takes, also separates our own
/// threads, and is released when the file is closed.
pub(crate) fn set_ofd_lock(file: &File, kind: i32) -> nix::Result<i32> {
    let whole_file = nix::libc::flock {
        l_type: kind as i16,
        l_whence: nix::libc::SEEK_SET as i16,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    nix::fcntl::fcntl(file, nix::fcntl::FcntlArg::F_OFD_SETLK(&whole_file))
}
