"""Kite's market-data websocket (KiteTicker) inside the Kite fake: the same port answers an HTTP Upgrade at "/".

RFC 6455 by hand (stdlib only): the client subscribes with text frames ({"a": "subscribe"|"mode", "v": ...}), and
every `interval` seconds the fake sends one binary message in Kite's format: a 2-byte packet count, then for each
packet a 2-byte length and a 184-byte full-mode packet (token, last price in paise, OHLC, OI, timestamps, five
bid and five ask levels). Pings are answered with pongs, as KiteTicker checks for them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import time
from decimal import Decimal

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def frame(payload: bytes, opcode: int = 0x2) -> bytes:
    header = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        header += bytes([n])
    elif n < 1 << 16:
        header += bytes([126]) + struct.pack(">H", n)
    else:
        header += bytes([127]) + struct.pack(">Q", n)
    return header + payload


def read_frame(sock: socket.socket) -> tuple[int, bytes] | None:
    """(opcode, payload) of the next client frame; None when the client went away."""

    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data

    try:
        first, second = exactly(2)
    except (ConnectionError, OSError):
        return None
    opcode, length = first & 0x0F, second & 0x7F
    if length == 126:
        length = struct.unpack(">H", exactly(2))[0]
    elif length == 127:
        length = struct.unpack(">Q", exactly(8))[0]
    mask = exactly(4) if second & 0x80 else b"\0\0\0\0"
    data = exactly(length)
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def full_packet(token: int, ltp: Decimal, spread: Decimal = Decimal("0.10")) -> bytes:
    paise = int(ltp * 100)
    half = int(spread * 100) // 2
    now = int(time.time())
    head = struct.pack(
        ">IIIIIIIIIIIIIIII",
        token, paise, 75, paise, 1000, 500, 500, paise, paise, paise, paise, now, 100000, 100000, 100000, now,
    )  # fmt: skip
    bids = b"".join(struct.pack(">IIHH", 75, max(paise - half - 5 * i, 5), 1, 0) for i in range(5))
    asks = b"".join(struct.pack(">IIHH", 75, paise + half + 5 * i, 1, 0) for i in range(5))
    return head + bids + asks


def message(packets: list[bytes]) -> bytes:
    return struct.pack(">H", len(packets)) + b"".join(struct.pack(">H", len(p)) + p for p in packets)


def serve_ticker(handler, *, interval: float = 0.5) -> None:
    """Run one websocket session on `handler`'s connection (the HTTP handshake is answered here)."""
    key = handler.headers.get("Sec-WebSocket-Key", "")
    handler.send_response(101, "Switching Protocols")
    handler.send_header("Upgrade", "websocket")
    handler.send_header("Connection", "Upgrade")
    handler.send_header("Sec-WebSocket-Accept", accept_key(key))
    handler.end_headers()
    handler.wfile.flush()
    sock = handler.connection
    sock.settimeout(0.05)
    subscribed: set[int] = set()
    last = 0.0
    handler.close_connection = True
    while True:
        try:
            got = read_frame(sock)
        except TimeoutError:
            got = ()
        except OSError:
            return
        if got is None:
            return
        if got:
            opcode, payload = got
            if opcode == 0x8:  # close
                try:
                    sock.sendall(frame(b"", 0x8))
                except OSError:
                    pass
                return
            if opcode == 0x9:  # ping
                sock.sendall(frame(payload, 0xA))
            elif opcode == 0x1:
                try:
                    request = json.loads(payload)
                except ValueError:
                    continue
                if request.get("a") == "subscribe":
                    subscribed |= {int(t) for t in request.get("v", [])}
                elif request.get("a") == "unsubscribe":
                    subscribed -= {int(t) for t in request.get("v", [])}
                elif request.get("a") == "mode" and len(request.get("v", [])) == 2:
                    subscribed |= {int(t) for t in request["v"][1]}
        if subscribed and time.monotonic() - last >= interval:
            last = time.monotonic()
            symbols = handler.token_symbols()
            packets = [
                full_packet(token, handler.book.price_of(symbols.get(token, "")))
                for token in sorted(subscribed)
                if token in symbols
            ]
            if packets:
                try:
                    sock.sendall(frame(message(packets)))
                except OSError:
                    return
