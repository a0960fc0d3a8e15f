"""A peer that behaves like the original django-udp-discovery-client (seed-system.md section 4).

Written for beckon's tests from the documented behaviour. Standard library only, plus Debian's
python3-ifaddr to list interfaces (as the original does with its interface library) and
python3-cryptography for the encrypted mode and the fernet-* commands (each imported only when
used).

  original_client.py parse PREFIX_HEX      reads hex datagrams on stdin, prints one JSON result a line
  original_client.py discover [--port N] [--timeout S] [--message M] [--prefix P]
                              [--interfaces-whitelist CSV] [--interfaces-blacklist CSV]
                              [--broadcast ADDR]... [--encryption --secret-key KEY]
      Sends the request once to each interface's directed broadcast address (or to the given
      --broadcast addresses), receives until the socket is idle for the timeout, and prints the
      deduplicated results as a JSON array.
      With --encryption (the original's encrypted mode, seed-system.md section 2) each send is a
      fresh Fernet(KEY).encrypt(message), sent as the raw token bytes; each reply is decrypted
      with Fernet(KEY).decrypt(data), with no ttl as in the original, and a reply that is not a
      valid token under KEY (InvalidToken) is ignored; the plaintext is then parsed as above.
  original_client.py fernet-encrypt KEY [--at UNIX_SECONDS]
      Byte-level interop checks: reads one hex-encoded plaintext a line on stdin (an empty line
      is an empty plaintext) and prints, a line each, its token: Fernet(KEY).encrypt(plaintext),
      or Fernet(KEY).encrypt_at_time(plaintext, UNIX_SECONDS) with --at. A token is ASCII (URL-safe
      base64), so the line is exactly the bytes a datagram carries.
  original_client.py fernet-decrypt KEY
      Reads one hex-encoded token (the datagram's bytes) a line on stdin and prints, a line each,
      {"hex": <plaintext as hex>, "timestamp": <the token's time, Unix seconds>} for a valid token
      under KEY (decrypted with no ttl), or null when Fernet raises InvalidToken.

In the encrypted mode and the fernet-* commands a missing or empty KEY exits with status 1 and
"Fernet key must be non-empty.", a key Fernet refuses with "Invalid Fernet key format." (on
stderr; the key itself is never printed). A key may start with "-": pass it as --secret-key=KEY.
"""
import argparse
import ipaddress
import json
import socket
import sys


def parse_reply(data, prefix):
    """The original client's parser: returns (ip, port) or None."""
    if not data.startswith(prefix):
        return None
    text = data[len(prefix):].decode("utf-8", errors="ignore").strip()
    if ":" in text:
        head, tail = text.split(":", 1)
        ip = head.strip()
        try:
            port = int(tail.strip())
        except ValueError:
            return None
        if port < 1 or port > 65535:
            return None
    else:
        ip = text.strip()
        port = 8000
    if not ip:
        return None
    pieces = ip.split(".")
    if len(pieces) != 4:
        return None
    try:
        for piece in pieces:
            if not 0 <= int(piece) <= 255:
                return None
    except ValueError:
        return None
    return ip, port


def make_fernet(key):
    """Fernet(key) with the original's error messages; exits with status 1 on a bad key."""
    from cryptography.fernet import Fernet

    if not key or not key.strip():
        sys.exit("Fernet key must be non-empty.")
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError):
        sys.exit("Invalid Fernet key format.")


def cmd_fernet_encrypt(key, at):
    fernet = make_fernet(key)
    for line in sys.stdin:
        plaintext = bytes.fromhex(line.strip())
        token = fernet.encrypt(plaintext) if at is None else fernet.encrypt_at_time(plaintext, at)
        print(token.decode("ascii"), flush=True)


def cmd_fernet_decrypt(key):
    from cryptography.fernet import InvalidToken

    fernet = make_fernet(key)
    for line in sys.stdin:
        token = bytes.fromhex(line.strip())
        try:
            plaintext = fernet.decrypt(token)
            result = {"hex": plaintext.hex(), "timestamp": fernet.extract_timestamp(token)}
        except InvalidToken:
            result = None
        print(json.dumps(result), flush=True)


def cmd_parse(prefix_hex):
    prefix = bytes.fromhex(prefix_hex)
    for line in sys.stdin:
        data = bytes.fromhex(line.strip())[:4096]
        result = parse_reply(data, prefix)
        print(json.dumps(None if result is None else [result[0], result[1]]))


def interface_broadcasts(whitelist, blacklist):
    """IPv4 addresses of every interface, loopback skipped: one broadcast address per entry."""
    import ifaddr

    targets = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if not isinstance(ip.ip, str) or ip.ip.startswith("127."):
                continue
            name = adapter.nice_name
            if whitelist and name not in whitelist:
                continue
            if blacklist and name in blacklist:
                continue
            network = ipaddress.IPv4Network(f"{ip.ip}/{ip.network_prefix}", strict=False)
            targets.append(str(network.broadcast_address))
    return targets


def csv(text):
    return [item.strip() for item in text.split(",") if item.strip()] if text else None


def cmd_discover(args):
    fernet = make_fernet(args.secret_key) if args.encryption else None
    if fernet is not None:
        from cryptography.fernet import InvalidToken
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.settimeout(args.timeout)
    targets = args.broadcast or interface_broadcasts(
        csv(args.interfaces_whitelist), csv(args.interfaces_blacklist)
    )
    for address in targets:
        request = args.message.encode()
        sock.sendto(request if fernet is None else fernet.encrypt(request), (address, args.port))
    found, seen = [], set()
    while True:
        try:
            data, addr = sock.recvfrom(4096)
        except socket.timeout:
            break
        if fernet is not None:
            try:
                data = fernet.decrypt(data)  # no ttl, as the original
            except InvalidToken:
                continue
        parsed = parse_reply(data, args.prefix.encode())
        if parsed is None or parsed in seen:
            continue
        seen.add(parsed)
        found.append({"ip": parsed[0], "port": parsed[1], "source": addr[0]})
    print(json.dumps(found))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "parse":
        cmd_parse(sys.argv[2])
        return
    # KEY is read by position: URL-safe base64 may start with "-", which argparse takes for a flag.
    if len(sys.argv) == 3 and sys.argv[1] == "fernet-decrypt":
        cmd_fernet_decrypt(sys.argv[2])
        return
    if len(sys.argv) in (3, 5) and sys.argv[1] == "fernet-encrypt":
        if len(sys.argv) == 5 and sys.argv[3] != "--at":
            sys.exit("usage: original_client.py fernet-encrypt KEY [--at UNIX_SECONDS]")
        cmd_fernet_encrypt(sys.argv[2], int(sys.argv[4]) if len(sys.argv) == 5 else None)
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["discover", "fernet-encrypt", "fernet-decrypt"])
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--message", default="DISCOVER_SERVER")
    parser.add_argument("--prefix", default="SERVER_IP:")
    parser.add_argument("--interfaces-whitelist")
    parser.add_argument("--interfaces-blacklist")
    parser.add_argument("--broadcast", action="append", default=[])
    parser.add_argument("--encryption", action="store_true")
    parser.add_argument("--secret-key", default="")
    cmd_discover(parser.parse_args())


if __name__ == "__main__":
    main()
