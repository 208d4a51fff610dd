#!/usr/bin/python3
"""Request/response latency over TCP: 1-byte request, 1-byte response, one
transaction in flight (like netperf TCP_RR), TCP_NODELAY on both sides.

    rr.py server PORT                 # echoes, one connection at a time, forever
    rr.py client HOST PORT SECONDS    # prints JSON: transactions, tps, p50/p90/p99 µs

The server takes IPv4 and IPv6 clients (one dual-stack socket on ::, or
IPv4 only where the namespace has IPv6 off); HOST is either family.

Python's own per-transaction cost (a few µs) is in every figure, equally for
every topology: compare rows of one run, not against netperf numbers."""

import json
import socket
import sys
import time


def listener(port: int) -> socket.socket:
    """A dual-stack socket on [::]:port, else (IPv6 off) one on 0.0.0.0:port."""
    s = None
    try:
        s = socket.socket(socket.AF_INET6)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", port))
        return s
    except OSError:
        if s is not None:
            s.close()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        return s


def server(port: int) -> None:
    s = listener(port)
    s.listen(8)
    print("ready", flush=True)
    while True:
        c, _ = s.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                b = c.recv(1)
                if not b:
                    break
                c.sendall(b)
        except OSError:
            pass
        c.close()


def client(host: str, port: int, seconds: float) -> None:
    s = socket.create_connection((host, port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    send, recv, clock = s.send, s.recv, time.perf_counter_ns
    for _ in range(200):  # warm up: ARP, caches, conntrack entry
        send(b"x")
        recv(1)
    samples = []
    append = samples.append
    end = clock() + int(seconds * 1e9)
    t0 = clock()
    now = t0
    while now < end:
        send(b"x")
        if not recv(1):
            raise SystemExit("server closed")
        t = clock()
        append(t - now)
        now = t
    elapsed = (now - t0) / 1e9
    s.close()
    samples.sort()
    n = len(samples)
    q = lambda p: samples[min(n - 1, int(p * n))] / 1000.0
    print(json.dumps({"transactions": n, "seconds": elapsed, "tps": n / elapsed,
                      "p50_us": q(0.50), "p90_us": q(0.90), "p99_us": q(0.99)}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["server"]:
        server(int(sys.argv[2]))
    elif sys.argv[1:2] == ["client"]:
        client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(__doc__)
