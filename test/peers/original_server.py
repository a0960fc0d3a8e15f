"""A peer that behaves like the original django-udp-discovery server (seed-system.md section 3).

Written for beckon's tests and benchmarks from the documented behaviour. Standard library only,
plus Debian's python3-cryptography in encrypted mode (imported only then).

  original_server.py [--port 9999] [--message DISCOVER_SERVER] [--prefix SERVER_IP:]
                     [--buffer-size 1024] [--bind 0.0.0.0] [--quiet]
                     [--encryption --secret-key KEY]

Like the original: one blocking socket with SO_REUSEADDR and a 1 s timeout, answers only a
request equal to the message, byte for byte, with PREFIX + server IP and no port. The server IP
is worked out once at start from the default route (a UDP socket "connected" to 8.8.8.8, which
sends nothing), or 127.0.0.1 when there is none. Logs each reply unless --quiet (the
original's ENABLE_LOGGING=False). Stops on SIGTERM or SIGINT.

Encrypted mode (--encryption, the original's DISCOVERY_ENCRYPTION_ENABLED, seed-system.md
section 2): every datagram is decrypted with Fernet(KEY).decrypt(data), with no ttl, so old and
replayed tokens are accepted as in the original; a datagram that is not a valid token under KEY
(InvalidToken), or whose plaintext is not exactly the message, is silently ignored. The reply is
Fernet(KEY).encrypt(PREFIX + server IP), sent as the raw token bytes. A missing or empty key exits
with status 1 and "Fernet key must be non-empty.", a key Fernet refuses with "Invalid Fernet key
format." (on stderr, before binding; the key itself is never printed). A key may start with "-":
pass it as --secret-key=KEY.
"""
import argparse
import signal
import socket
import sys

running = True


def stop(_signum, _frame):
    global running
    running = False


def get_server_ip():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("8.8.8.8", 80))
        return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


def make_fernet(key):
    """Fernet(key) with the original's error messages; exits with status 1 on a bad key."""
    from cryptography.fernet import Fernet

    if not key or not key.strip():
        sys.exit("Fernet key must be non-empty.")
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError):
        sys.exit("Invalid Fernet key format.")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--message", default="DISCOVER_SERVER")
    parser.add_argument("--prefix", default="SERVER_IP:")
    parser.add_argument("--buffer-size", type=int, default=1024)
    parser.add_argument("--bind", default="0.0.0.0")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--encryption", action="store_true")
    parser.add_argument("--secret-key", default="")
    args = parser.parse_args()
    fernet = make_fernet(args.secret_key) if args.encryption else None
    if fernet is not None:
        from cryptography.fernet import InvalidToken
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    request = args.message.encode()
    server_ip = get_server_ip()
    reply = (args.prefix + server_ip).encode()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.bind, args.port))
    sock.settimeout(1.0)
    print(f"UDP Discovery listener started on port {sock.getsockname()[1]}", flush=True)
    try:
        while running:
            try:
                data, addr = sock.recvfrom(args.buffer_size)
            except (socket.timeout, InterruptedError):
                continue
            if fernet is not None:
                try:
                    data = fernet.decrypt(data)  # no ttl, as the original
                except InvalidToken:  # whatever the bytes: bad encoding, key or signature
                    continue
            if data == request:
                sock.sendto(reply if fernet is None else fernet.encrypt(reply), addr)
                if not args.quiet:
                    print(f"UDP Discovery: Responded to {addr[0]}:{addr[1]} with server IP: {server_ip}", flush=True)
    finally:
        sock.close()


if __name__ == "__main__":
    main()
