#!/usr/bin/env python3
"""Expected values for common/merkle_test.cc, computed independently of the
C++ code: a direct transcription of RFC 9162 section 2.1 (MTH, PATH, PROOF)
over hashlib. The eight leaves are the inputs Certificate Transparency's own
Merkle tree tests use. Run it to regenerate the table pasted into the test:

    python3 common/testdata/merkle_vectors.py
"""
import hashlib

LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
          b"\x50\x51\x52\x53\x54\x55\x56\x57",
          bytes(range(0x60, 0x70))]


def mth(d):
    if len(d) == 0:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < len(d):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m, d):
    if len(d) <= 1:
        return []
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m, d, b):
    if m == len(d):
        return [] if b else [mth(d)]
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


def main():
    print("// roots, sizes 1..8")
    for n in range(1, 9):
        print('{%d, "%s"},' % (n, mth(LEAVES[:n]).hex()))
    print("// inclusion: leaf, size, path")
    for (m, n) in [(0, 1), (0, 8), (5, 8), (2, 3), (1, 5), (6, 7), (4, 5)]:
        print('{%d, %d, {%s}},' % (m, n, ", ".join('"%s"' % h.hex() for h in path(m, LEAVES[:n]))))
    print("// consistency: first, second, proof")
    for (m, n) in [(1, 1), (1, 8), (6, 8), (2, 5), (3, 7), (4, 7), (5, 8)]:
        print('{%d, %d, {%s}},' % (m, n, ", ".join('"%s"' % h.hex() for h in subproof(m, LEAVES[:n], True))))


if __name__ == "__main__":
    main()
