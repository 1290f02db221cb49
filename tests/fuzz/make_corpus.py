#!/usr/bin/env python3
"""Writes the seed corpora of the table-reader fuzzers (tests/fuzz/corpus/<reader>/).

Run from anywhere: python3 tests/fuzz/make_corpus.py [--reference DIR]. The seeds are small
valid and near-valid files of each format, with the option byte some targets read first (see
fuzz_targets.hpp). With --reference (the DATE'25 tables, ../shared/reference), cut-down
variants of the published files are added: their INFO lines and first entries, and the first
bytes of their gzip stream. Deterministic: the same files every run (gzip mtime 0).
"""
import argparse
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def values(bits, signed):
    lo = -(1 << (bits - 1)) if signed else 0
    return list(range(lo, lo + (1 << bits)))


def date_text(bits, signed, info=True, grads=False, spelling=str, table=lambda a, b: a * b):
    out = []
    if info:
        out.append(f"INFO: file_name=seed, half_ws_a=2, half_ws_b=2, QUANTIZATION_BIT={bits}")
        out.append("INFO: Error rate between lut_appmult and lut_mult: 0.0%")
    sections = [("LUT for approximate multiplier:", table)]
    if grads:
        sections.append(("LUT for the gradient of the approximate multiplier w.r.t. the first operand:",
                         lambda a, b: 16 * b))
        sections.append(("LUT for the gradient of the approximate multiplier w.r.t. the second operand:",
                         lambda a, b: 16 * a))
    for header, f in sections:
        out.append(header)
        for a in values(bits, signed):
            for b in values(bits, signed):
                out.append(f"{a} {b} {spelling(f(a, b))}")
    return ("\n".join(out) + "\n").encode()


def approxtorch_text(bits, signed, spelling=str, table=lambda a, b: a * b):
    rows = [" ".join(spelling(table(a, b)) for b in values(bits, signed)) for a in values(bits, signed)]
    return ("\n".join(rows) + "\n").encode()


def tfapprox_bytes(bits, table=lambda a, b: a * b):
    vs = values(bits, False)
    return b"".join(struct.pack("<H", table(a, b) & 0xFFFF) for a in vs for b in vs)


def numpy(v):
    return f"{float(v):.18e}"


def write(reader, name, data):
    folder = os.path.join(OUT, reader)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reference", default=os.path.join(HERE, "..", "..", "..", "shared", "reference"))
    args = parser.parse_args()

    u2 = date_text(2, False, info=False)
    s2g = date_text(2, True, grads=True)
    u3np = date_text(3, False, spelling=numpy)
    u4g = date_text(4, False, grads=True, table=lambda a, b: (a * b) & ~3)
    crlf = date_text(2, False).replace(b"\n", b"\r\n")
    blank = b"\n  \n" + date_text(2, True, info=False).replace(b"\n", b"\n\t\n", 3)
    # date_text: the bytes are the file.
    for name, data in [("u2.txt", u2), ("s2_grads.txt", s2g), ("u3_numpy.txt", u3np),
                       ("u4_grads.txt", u4g), ("u2_crlf.txt", crlf), ("s2_blank.txt", blank)]:
        write("date_text", name, data)
    # date_gz: first byte even: the rest is the file; odd: the rest is text to compress, cut by
    # (byte >> 1) bytes.
    for name, data in [("raw_u2.gz", b"\x00" + gz(u2)), ("raw_s2_grads.gz", b"\x00" + gz(s2g)),
                       ("raw_u4_grads.gz", b"\x00" + gz(u4g)), ("text_u2", b"\x01" + u2),
                       ("text_s2_grads", b"\x01" + s2g), ("text_u2_cut1", b"\x03" + u2),
                       ("text_u3_cut12", b"\x19" + u3np)]:
        write("date_gz", name, data)
    # approxtorch: first byte: signedness (0 none, 1 unsigned, 2 signed, mod 3).
    for name, data in [("u2.txt", b"\x00" + approxtorch_text(2, False)),
                       ("s2.txt", b"\x00" + approxtorch_text(2, True)),
                       ("s2_signed.txt", b"\x02" + approxtorch_text(2, True, table=lambda a, b: a * b + 1)),
                       ("u3_numpy_unsigned.txt", b"\x01" + approxtorch_text(3, False, spelling=numpy)),
                       ("u4.txt", b"\x00" + approxtorch_text(4, False)),
                       ("u3.txt.gz", b"\x00" + gz(approxtorch_text(3, False)))]:
        write("approxtorch", name, data)
    # tfapprox: first byte b: b % 9 in 2..8 is the width, else 8 bits.
    for name, data in [("u2.bin", b"\x02" + tfapprox_bytes(2)), ("u3.bin", b"\x03" + tfapprox_bytes(3)),
                       ("u4.bin", b"\x04" + tfapprox_bytes(4)),
                       ("u8_zeros.bin.gz", b"\x00" + gz(bytes(131072))),
                       ("u8_low_byte.bin.gz", b"\x08" + gz(tfapprox_bytes(8, table=lambda a, b: (a * b) & 0xFF00)))]:
        write("tfapprox", name, data)
    # detect: the bytes are the file, any format.
    for name, data in [("date_u2.txt", u2), ("date_s2.txt.gz", gz(s2g)),
                       ("approxtorch_u2.txt", approxtorch_text(2, False)),
                       ("approxtorch_s2.txt.gz", gz(approxtorch_text(2, True))),
                       ("tfapprox_u8_zeros.bin.gz", gz(bytes(131072)))]:
        write("detect", name, data)

    # Cut-down variants of the published tables: the first lines (INFO lines and entries) as
    # text and gzip, and the first 2 KB of the published gzip stream (a truncated file).
    if os.path.isdir(args.reference):
        for file in sorted(os.listdir(args.reference)):
            if not file.endswith(".txt.gz"):
                continue
            raw = open(os.path.join(args.reference, file), "rb").read()
            head = b"".join(gzip.decompress(raw).splitlines(keepends=True)[:40])
            stem = file.split("_lutfp")[0][:24]
            write("date_text", f"ref_{stem}_head.txt", head)
            write("date_gz", f"ref_{stem}_head_raw.gz", b"\x00" + gz(head))
            write("date_gz", f"ref_{stem}_first2k.gz", b"\x00" + raw[:2048])
            write("detect", f"ref_{stem}_first2k.gz", raw[:2048])


if __name__ == "__main__":
    main()
