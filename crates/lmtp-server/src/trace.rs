//! The trace headers Dovecot 2.3's LMTP prepends to every stored copy.
//!
//! Observed against Debian's dovecot-lmtpd 2.3.19.1 (unix socket, `lmtp_hdr_delivery_address`
//! and `lmtp_add_received_header` at their defaults):
//!
//! ```text
//! Return-Path: <sender@example.com>
//! Delivered-To: rcpt+detail@example.com          (only when the transaction has 1 recipient)
//! Received: from <LHLO name>
//!         by <hostname> with LMTP
//!         id <session id>[:T<n>]
//!         (envelope-from <sender@example.com>)
//!         for <rcpt+detail@example.com>; <RFC 5322 date>   (the `for` line: 1 recipient only)
//! ```
//!
//! Continuation lines start with one TAB. `Return-Path` is always added.

use crate::protocol::{Envelope, RcptCommand};

/// `lmtp_hdr_delivery_address`: which address goes into `Delivered-To:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryAddress {
    /// The RCPT TO address (default).
    Final,
    /// The ORCPT address when given, else the RCPT TO address.
    Original,
    /// No `Delivered-To:` header.
    None,
}

impl DeliveryAddress {
    /// Parse the setting's value (`final`, `original`, `none`); unknown values mean `final`.
    pub fn from_setting(value: &str) -> DeliveryAddress {
        match value {
            "original" => DeliveryAddress::Original,
            "none" => DeliveryAddress::None,
            _ => DeliveryAddress::Final,
        }
    }
}

/// What decides the trace headers.
#[derive(Debug, Clone)]
pub struct TraceSettings {
    /// `lmtp_add_received_header`.
    pub add_received: bool,
    /// `lmtp_hdr_delivery_address`.
    pub delivery_address: DeliveryAddress,
    /// Our host name (the `by` clause).
    pub hostname: String,
}

/// The header block to prepend (LF line ends), for the accepted `recipients` of a transaction
/// whose id is `txn_id`. `remote_ip` is the TCP peer (absent on unix sockets).
pub fn trace_headers(
    settings: &TraceSettings,
    envelope: &Envelope,
    recipients: &[RcptCommand],
    txn_id: &str,
    remote_ip: Option<&str>,
) -> Vec<u8> {
    let sender = &envelope.sender;
    let mut out = format!("Return-Path: <{sender}>\n");
    let single = match recipients {
        [one] => Some(one),
        _ => None,
    };
    if let Some(rcpt) = single {
        let address = match settings.delivery_address {
            DeliveryAddress::Final => Some(rcpt.address.as_str()),
            DeliveryAddress::Original => Some(rcpt.orcpt.as_deref().unwrap_or(&rcpt.address)),
            DeliveryAddress::None => None,
        };
        if let Some(address) = address {
            out.push_str(&format!("Delivered-To: {address}\n"));
        }
    }
    if settings.add_received {
        let helo = if envelope.helo.is_empty() { "unknown" } else { &envelope.helo };
        let from = match remote_ip {
            Some(ip) => format!("{helo} ([{ip}])"),
            None => helo.to_string(),
        };
        let date = chrono::Local::now().format("%a, %d %b %Y %H:%M:%S %z");
        out.push_str(&format!(
            "Received: from {from}\n\tby {host} with LMTP\n\tid {txn_id}\n\t(envelope-from <{sender}>)",
            host = settings.hostname
        ));
        if let Some(rcpt) = single {
            out.push_str(&format!("\n\tfor <{}>", rcpt.address));
        }
        out.push_str(&format!("; {date}\n"));
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rcpt(address: &str, orcpt: Option<&str>) -> RcptCommand {
        RcptCommand { address: address.into(), orcpt: orcpt.map(String::from), index: 1 }
    }

    fn settings(delivery_address: DeliveryAddress) -> TraceSettings {
        TraceSettings { add_received: true, delivery_address, hostname: "mx".into() }
    }

    fn env() -> Envelope {
        Envelope { helo: "client".into(), sender: "s@x".into(), transaction: 1 }
    }

    #[test]
    fn single_recipient_gets_delivered_to_and_for() {
        let r = [rcpt("a+d@x", Some("orig@x"))];
        let text = String::from_utf8(trace_headers(
            &settings(DeliveryAddress::Final),
            &env(),
            &r,
            "ID",
            None,
        ))
        .unwrap();
        assert!(text.starts_with("Return-Path: <s@x>\nDelivered-To: a+d@x\nReceived: from client\n\tby mx with LMTP\n\tid ID\n\t(envelope-from <s@x>)\n\tfor <a+d@x>; "), "{text}");
        assert!(text.ends_with('\n') && text.lines().count() == 7, "{text}");
        let orig = trace_headers(&settings(DeliveryAddress::Original), &env(), &r, "ID", None);
        assert!(String::from_utf8(orig).unwrap().contains("Delivered-To: orig@x\n"));
        let none = trace_headers(&settings(DeliveryAddress::None), &env(), &r, "ID", None);
        assert!(!String::from_utf8(none).unwrap().contains("Delivered-To"));
    }

    #[test]
    fn several_recipients_get_neither() {
        let r = [rcpt("a@x", None), rcpt("b@x", None)];
        let text = String::from_utf8(trace_headers(
            &settings(DeliveryAddress::Final),
            &env(),
            &r,
            "ID:T2",
            Some("127.0.0.1"),
        ))
        .unwrap();
        assert!(!text.contains("Delivered-To") && !text.contains("\tfor "), "{text}");
        assert!(text.contains("Received: from client ([127.0.0.1])\n\tby mx with LMTP\n\tid ID:T2\n\t(envelope-from <s@x>); "), "{text}");
    }

    #[test]
    fn null_sender_and_no_received() {
        let s = TraceSettings { add_received: false, ..settings(DeliveryAddress::Final) };
        let e = Envelope { sender: String::new(), ..env() };
        let text = trace_headers(&s, &e, &[rcpt("a@x", None)], "ID", None);
        assert_eq!(text, b"Return-Path: <>\nDelivered-To: a@x\n");
    }
}
