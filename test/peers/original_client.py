"""A peer that behaves like the original django-udp-discovery-client (seed-system.md section 4).

Written for beckon's tests from the documented behaviour. Standard library only, plus Debian's
python3-ifaddr to list interfaces (as the original does with its interface library).

  original_client.py parse PREFIX_HEX      reads hex datagrams on stdin, prints one JSON result a line
  original_client.py discover [--port N] [--timeout S] [--message M] [--prefix P]
                              [--interfaces-whitelist CSV] [--interfaces-blacklist CSV]
                              [--broadcast ADDR]...
      Sends the request once to each interface's directed broadcast address (or to the given
      --broadcast addresses), receives until the socket is idle for the timeout, and prints the
      deduplicated results as a JSON array.
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
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.settimeout(args.timeout)
    targets = args.broadcast or interface_broadcasts(
        csv(args.interfaces_whitelist), csv(args.interfaces_blacklist)
    )
    for address in targets:
        sock.sendto(args.message.encode(), (address, args.port))
    found, seen = [], set()
    while True:
        try:
            data, addr = sock.recvfrom(4096)
        except socket.timeout:
            break
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
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["discover"])
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--message", default="DISCOVER_SERVER")
    parser.add_argument("--prefix", default="SERVER_IP:")
    parser.add_argument("--interfaces-whitelist")
    parser.add_argument("--interfaces-blacklist")
    parser.add_argument("--broadcast", action="append", default=[])
    cmd_discover(parser.parse_args())


if __name__ == "__main__":
    main()
