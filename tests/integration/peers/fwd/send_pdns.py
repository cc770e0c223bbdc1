#!/usr/bin/env python3
"""send_pdns.py - feed dnsstream's PowerDNS input for the forwarder tests.

Usage: send_pdns.py PORT COUNT [--clients N] [--rate EPS] [--start K]

Sends COUNT minimal but complete PowerDNS query messages (type, messageId, family,
protocol, from, to, inBytes, time, id, question, fromPort), each behind a 2-byte
big-endian length, over one TCP connection to 127.0.0.1:PORT.  Message k (k from
--start, default 0) comes from client address 10.0.(k % N // 256).(k % N % 256 + 1)
with N = --clients (default 1), and asks for q<k>.example.  --rate limits the rate
(events per second, in slices of 10 ms); without it the stream goes as fast as the
socket takes it.  Exits 0 once everything was written and the connection closed.
"""
import argparse
import socket
import struct
import time


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, wt, payload):
    key = varint((num << 3) | wt)
    if wt == 0:
        return key + varint(payload)
    return key + varint(len(payload)) + payload


class Builder:
    """Builds message k from parts computed once (the generator must not be the limit)."""

    def __init__(self, clients, now):
        self.clients = clients
        self.head = field(1, 0, 1)                      # DNSQueryType
        self.mid = field(4, 0, 1) + field(5, 0, 1)      # INET, UDP
        self.tail = b''.join([field(7, 2, bytes([127, 0, 0, 1])), field(8, 0, 40),
                              field(9, 0, int(now)), field(10, 0, int((now % 1) * 1e6))])
        self.qtail = field(2, 0, 1) + field(3, 0, 1)
        self.toport = field(21, 0, 53)
        self.per_client = []
        for c in range(clients):
            src = bytes([10, 0, c // 256, c % 256 + 1])
            self.per_client.append((field(6, 2, src), field(20, 0, 40000 + c % 20000)))

    def message(self, k):
        src, fport = self.per_client[k % self.clients]
        q = field(1, 2, b'q%d.example.' % k) + self.qtail
        return b''.join([self.head, b'\x12\x10', struct.pack('>QQ', 0x5EED, k), self.mid, src,
                         self.tail, field(11, 0, k & 0xFFFF), field(12, 2, q), fport,
                         self.toport])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('port', type=int)
    ap.add_argument('count', type=int)
    ap.add_argument('--clients', type=int, default=1)
    ap.add_argument('--rate', type=float, default=0)
    ap.add_argument('--start', type=int, default=0)
    a = ap.parse_args()
    s = socket.create_connection(('127.0.0.1', a.port), timeout=30)
    b = Builder(a.clients, time.time())
    chunk = max(1, int(a.rate / 100)) if a.rate else 5000
    t0 = time.monotonic()
    sent = 0
    while sent < a.count:
        n = min(chunk, a.count - sent)
        buf = bytearray()
        for k in range(a.start + sent, a.start + sent + n):
            m = b.message(k)
            buf += struct.pack('>H', len(m)) + m
        s.sendall(buf)
        sent += n
        if a.rate:
            due = t0 + sent / a.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    s.shutdown(socket.SHUT_WR)
    s.settimeout(30)
    while s.recv(65536):
        pass
    s.close()


if __name__ == '__main__':
    main()
