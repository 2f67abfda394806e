"""CityHash64 as ClickHouse computes ``cityHash64(s)`` (Google's CityHash v1.0.2).

PostHog's events table is ``SAMPLE BY cityHash64(distinct_id)``; sampling is reproduced by
hashing each distinct_id once (per dictionary value, never per row). Pure Python on 64-bit
integers masked to uint64.
"""

from __future__ import annotations

import struct

M64 = 0xFFFFFFFFFFFFFFFF
K0 = 0xC3A5C85C97CB3127
K1 = 0xB492B66FBE98F273
K2 = 0x9AE16A3B2F90404F
K3 = 0xC949D7C7509E6557
KMUL = 0x9DDFEA08EB382D69


def _f64(b: bytes, i: int) -> int:
    return struct.unpack_from("<Q", b, i)[0]


def _f32(b: bytes, i: int) -> int:
    return struct.unpack_from("<I", b, i)[0]


def _rot(v: int, s: int) -> int:
    return v if s == 0 else ((v >> s) | (v << (64 - s))) & M64


def _mix(v: int) -> int:
    return v ^ (v >> 47)


def _hash16(u: int, v: int) -> int:
    a = ((u ^ v) * KMUL) & M64
    a ^= a >> 47
    b = ((v ^ a) * KMUL) & M64
    b ^= b >> 47
    return (b * KMUL) & M64


def _len0to16(s: bytes) -> int:
    n = len(s)
    if n > 8:
        a, b = _f64(s, 0), _f64(s, n - 8)
        return _hash16(a, _rot((b + n) & M64, n)) ^ b
    if n >= 4:
        a = _f32(s, 0)
        return _hash16((n + (a << 3)) & M64, _f32(s, n - 4))
    if n > 0:
        a, b, c = s[0], s[n >> 1], s[n - 1]
        y = (a + (b << 8)) & 0xFFFFFFFF
        z = (n + (c << 2)) & 0xFFFFFFFF
        return (_mix(((y * K2) ^ (z * K3)) & M64) * K2) & M64
    return K2


def _len17to32(s: bytes) -> int:
    n = len(s)
    a = (_f64(s, 0) * K1) & M64
    b = _f64(s, 8)
    c = (_f64(s, n - 8) * K2) & M64
    d = (_f64(s, n - 16) * K0) & M64
    return _hash16(
        (_rot((a - b) & M64, 43) + _rot(c, 30) + d) & M64,
        (a + _rot(b ^ K3, 20) - c + n) & M64,
    )


def _len33to64(s: bytes) -> int:
    n = len(s)
    z = _f64(s, 24)
    a = (_f64(s, 0) + (n + _f64(s, n - 16)) * K0) & M64
    b = _rot((a + z) & M64, 52)
    c = _rot(a, 37)
    a = (a + _f64(s, 8)) & M64
    c = (c + _rot(a, 7)) & M64
    a = (a + _f64(s, 16)) & M64
    vf = (a + z) & M64
    vs = (b + _rot(a, 31) + c) & M64
    a = (_f64(s, 16) + _f64(s, n - 32)) & M64
    z = _f64(s, n - 8)
    b = _rot((a + z) & M64, 52)
    c = _rot(a, 37)
    a = (a + _f64(s, n - 24)) & M64
    c = (c + _rot(a, 7)) & M64
    a = (a + _f64(s, n - 16)) & M64
    wf = (a + z) & M64
    ws = (b + _rot(a, 31) + c) & M64
    r = _mix(((vf + ws) * K2 + (wf + vs) * K0) & M64)
    return (_mix((r * K0 + vs) & M64) * K2) & M64


def _weak32(w: int, x: int, y: int, z: int, a: int, b: int) -> tuple[int, int]:
    a = (a + w) & M64
    b = _rot((b + a + z) & M64, 21)
    c = a
    a = (a + x + y) & M64
    b = (b + _rot(a, 44)) & M64
    return (a + z) & M64, (b + c) & M64


def _weak32_at(s: bytes, i: int, a: int, b: int) -> tuple[int, int]:
    return _weak32(_f64(s, i), _f64(s, i + 8), _f64(s, i + 16), _f64(s, i + 24), a, b)


def cityhash64(data: bytes | str) -> int:
    """ClickHouse ``cityHash64`` of a string (UTF-8) or bytes, as an unsigned 64-bit int."""
    s = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    n = len(s)
    if n <= 16:
        return _len0to16(s)
    if n <= 32:
        return _len17to32(s)
    if n <= 64:
        return _len33to64(s)
    x = _f64(s, 0)
    y = _f64(s, n - 16) ^ K1
    z = _f64(s, n - 56) ^ K0
    v = _weak32_at(s, n - 64, n, y)
    w = _weak32_at(s, n - 32, (n * K1) & M64, K0)
    z = (z + _mix(v[1]) * K1) & M64
    x = (_rot((z + x) & M64, 39) * K1) & M64
    y = (_rot(y, 33) * K1) & M64
    remaining = (n - 1) & ~63
    pos = 0
    while True:
        x = (_rot((x + y + v[0] + _f64(s, pos + 16)) & M64, 37) * K1) & M64
        y = (_rot((y + v[1] + _f64(s, pos + 48)) & M64, 42) * K1) & M64
        x ^= w[1]
        y ^= v[0]
        z = _rot(z ^ w[0], 33)
        v = _weak32_at(s, pos, (v[1] * K1) & M64, (x + w[0]) & M64)
        w = _weak32_at(s, pos + 32, (z + w[1]) & M64, y)
        z, x = x, z
        pos += 64
        remaining -= 64
        if remaining == 0:
            break
    return _hash16((_hash16(v[0], w[0]) + _mix(y) * K1 + z) & M64, (_hash16(v[1], w[1]) + x) & M64)
