//! Line-ending normalisation exactly as Dovecot 2.3 stores mail with `mail_save_crlf = no`.
//!
//! Observed behaviour (hostile-input.md): CRLF becomes LF; CR CR LF becomes CR LF; a CR that is
//! the very last byte of the message is dropped; any other bare CR stays. The normaliser is a
//! streaming state machine so a 50 MB message never has to sit in memory, and it counts the
//! physical size (bytes stored) and virtual size (every line end counted as CRLF) on the way.

/// Streaming CRLF → LF converter with size accounting.
#[derive(Debug, Default)]
pub struct Normalizer {
    pending_cr: bool,
    prev_was_cr: bool,
    size: u64,
    vsize: u64,
}

impl Normalizer {
    /// Convert `input`, appending the stored form to `out`.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len());
        while !input.is_empty() {
            if self.pending_cr {
                self.pending_cr = false;
                if input[0] != b'\n' {
                    self.emit(b"\r", out);
                }
            }
            match find_byte(b'\r', input) {
                Some(pos) => {
                    self.emit(&input[..pos], out);
                    self.pending_cr = true;
                    input = &input[pos + 1..];
                }
                None => {
                    self.emit(input, out);
                    break;
                }
            }
        }
    }

    /// End of input: a trailing lone CR is dropped, as Dovecot does.
    pub fn finish(&mut self) {
        self.pending_cr = false;
    }

    /// Emit a segment that is either `\r` alone or contains no CR at all.
    fn emit(&mut self, segment: &[u8], out: &mut Vec<u8>) {
        let Some(&last) = segment.last() else { return };
        out.extend_from_slice(segment);
        let lfs = count_byte(b'\n', segment) as u64;
        let after_cr = u64::from(segment[0] == b'\n' && self.prev_was_cr);
        self.size += segment.len() as u64;
        self.vsize += segment.len() as u64 + lfs - after_cr;
        self.prev_was_cr = last == b'\r';
    }

    /// Bytes stored so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Virtual size so far: the size with every bare LF counted as CRLF (IMAP RFC822.SIZE).
    pub fn vsize(&self) -> u64 {
        self.vsize
    }
}

/// The first `needle` in `haystack`. On x86_64 this is memchr's SSE2 searcher, which every
/// x86_64 CPU has: no run-time CPU detection. That detection (`cpuid`, which traps to the
/// hypervisor on a VM) cost ~60 µs of every one-shot `deliver`, more than the whole scan of
/// a typical message; SSE2 still scans gigabytes per second (docs/architecture.md, "Start-up").
fn find_byte(needle: u8, haystack: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if let Some(searcher) = memchr::arch::x86_64::sse2::memchr::One::new(needle) {
        return searcher.find(haystack);
    }
    memchr::memchr(needle, haystack)
}

/// How many `needle`s `haystack` holds (same searcher as [`find_byte`]).
fn count_byte(needle: u8, haystack: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if let Some(searcher) = memchr::arch::x86_64::sse2::memchr::One::new(needle) {
        return searcher.count(haystack);
    }
    memchr::memchr_iter(needle, haystack).count()
}

/// Normalise a whole buffer at once (tests and small inputs).
pub fn normalize(input: &[u8]) -> Vec<u8> {
    let mut n = Normalizer::default();
    let mut out = Vec::new();
    n.feed(input, &mut out);
    n.finish();
    out
}

/// Virtual size of already-stored (normalised) bytes.
pub fn virtual_size(stored: &[u8]) -> u64 {
    let mut prev = 0u8;
    let mut vsize = 0u64;
    for &b in stored {
        vsize += if b == b'\n' && prev != b'\r' { 2 } else { 1 };
        prev = b;
    }
    vsize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_follow_dovecot() {
        assert_eq!(normalize(b"a\r\nb\r\n"), b"a\nb\n");
        assert_eq!(normalize(b"a\r\r\nb"), b"a\r\nb");
        assert_eq!(normalize(b"a\rb\r"), b"a\rb");
        assert_eq!(normalize(b"\r"), b"");
        assert_eq!(normalize(b"a\nb"), b"a\nb");
    }

    #[test]
    fn split_feeding_gives_the_same_result() {
        let input = b"x\r\ny\r\r\nz\r";
        for cut in 0..input.len() {
            let mut n = Normalizer::default();
            let mut out = Vec::new();
            n.feed(&input[..cut], &mut out);
            n.feed(&input[cut..], &mut out);
            n.finish();
            assert_eq!(out, normalize(input), "cut at {cut}");
            assert_eq!(n.size(), out.len() as u64);
            assert_eq!(n.vsize(), virtual_size(&out));
        }
    }

    #[test]
    fn vsize_counts_bare_lf_twice() {
        assert_eq!(virtual_size(b"ab\ncd\n"), 8);
        assert_eq!(virtual_size(b"ab\r\n"), 4);
        assert_eq!(virtual_size(b""), 0);
    }
}
