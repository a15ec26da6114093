//! Maildir delivery with Dovecot 2.3 behaviour (work in progress).
