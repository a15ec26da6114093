//! `lmtp-load SOCKET CONNECTIONS MESSAGES_PER_CONNECTION MESSAGE_FILE`: the load side of
//! `bench/lmtp_compare.py`.
//!
//! Each connection is a thread that sends LHLO once, then per message `MAIL FROM`, `RCPT TO`
//! and `DATA` in one write (PIPELINING), checks the three replies, sends the dot-stuffed
//! message and checks the final reply; QUIT at the end. It prints messages per second.
//!
//! Why not Python: on a 2-CPU machine the load generator shares the CPUs with the server it
//! measures, and a threaded Python client (GIL, interpreter) spent ~0.1 ms of CPU per message,
//! a quarter of what the server needs; this one spends a few microseconds. Any failed reply
//! is an error (exit 1): a benchmark that counts refusals as throughput is worthless.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::Instant;

/// What one connection does.
struct Job {
    socket: String,
    messages: usize,
    data: Vec<u8>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [socket, conns, per, file] = args.as_slice() else {
        eprintln!("usage: lmtp-load SOCKET CONNECTIONS MESSAGES_PER_CONNECTION MESSAGE_FILE");
        return ExitCode::from(64);
    };
    let (Ok(conns), Ok(per)) = (conns.parse::<usize>(), per.parse::<usize>()) else {
        eprintln!("lmtp-load: CONNECTIONS and MESSAGES_PER_CONNECTION are numbers");
        return ExitCode::from(64);
    };
    let message = match std::fs::read(file) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("lmtp-load: {file}: {e}");
            return ExitCode::from(66);
        }
    };
    let data = dot_stuffed(&message);
    let start = Instant::now();
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let job = Job { socket: socket.clone(), messages: per, data: data.clone() };
            std::thread::spawn(move || run(&job))
        })
        .collect();
    let mut failed = false;
    for t in threads {
        match t.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("lmtp-load: {e}");
                failed = true;
            }
            Err(_) => failed = true,
        }
    }
    let secs = start.elapsed().as_secs_f64();
    if failed {
        return ExitCode::from(1);
    }
    println!("{:.1}", (conns * per) as f64 / secs);
    ExitCode::SUCCESS
}

/// The DATA payload: CRLF line ends, leading dots doubled, ending with `.` CRLF.
fn dot_stuffed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    for line in message.split_inclusive(|&b| b == b'\n') {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        if body.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// One connection's session.
fn run(job: &Job) -> Result<(), String> {
    let stream = UnixStream::connect(&job.socket).map_err(|e| format!("{}: {e}", job.socket))?;
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut io = |bytes: &[u8], codes: &[&str]| -> Result<(), String> {
        writer.write_all(bytes).map_err(|e| e.to_string())?;
        codes.iter().try_for_each(|code| expect(&mut reader, code))
    };
    io(b"", &["220"])?;
    io(b"LHLO load\r\n", &["250"])?;
    for _ in 0..job.messages {
        io(
            b"MAIL FROM:<sender@example.com>\r\nRCPT TO:<bench>\r\nDATA\r\n",
            &["250", "250", "354"],
        )?;
        io(&job.data, &["250"])?;
    }
    io(b"QUIT\r\n", &["221"])
}

/// Reads one (possibly multi-line) reply; it must have `code`.
fn expect(reader: &mut impl BufRead, code: &str) -> Result<(), String> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err(format!("connection closed while waiting for {code}"));
        }
        if !line.starts_with(code) {
            return Err(format!("expected {code}, got {:?}", line.trim_end()));
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::dot_stuffed;

    #[test]
    fn lines_get_crlf_leading_dots_doubled_and_the_terminator() {
        assert_eq!(dot_stuffed(b"a\n.b\r\n..c\nd"), b"a\r\n..b\r\n...c\r\nd\r\n.\r\n".to_vec());
        assert_eq!(dot_stuffed(b""), b".\r\n".to_vec());
    }
}
