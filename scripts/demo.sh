#!/usr/bin/env bash
# Build letterbox and run one real delivery with the example config and passwd-file.
# The mail lands in target/demo/home/demo/Maildir; the script prints where.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
demo="$PWD/target/demo"
mkdir -p "$demo/home/demo"
if [ "$(id -u)" = 0 ]; then uid=65534; gid=65534; else uid=$(id -u); gid=$(id -g); fi
chmod 755 "$demo" "$demo/home"
chown "$uid:$gid" "$demo/home/demo"
sed "s|@DEMO@|$demo|g" examples/dovecot.conf.in > "$demo/dovecot.conf"
sed "s|@DEMO@|$demo|g; s|@UID@|$uid|; s|@GID@|$gid|" examples/passwd.in > "$demo/passwd"
chmod 644 "$demo/dovecot.conf" "$demo/passwd"
./target/release/letterbox deliver -c "$demo/dovecot.conf" -d demo \
  -f alice@example.com -m "${1:-INBOX}" < examples/hello.eml
echo "delivered (exit $?). Mailbox: $demo/home/demo/Maildir"
find "$demo/home/demo/Maildir" -path '*/new/*' -o -path '*/cur/*' | sed 's/^/  /'
echo "log: $demo/letterbox.log"
tail -n 1 "$demo/letterbox.log"
