#!/usr/bin/python3
"""Regenerates the seed corpora in fuzz/corpus/ from examples/, the golden
cases in rules/testdata/ and agreements/ (run from the repository root after
those change; the seeds are small and kept in the repository).

  fuzz/make_corpus.py
"""
import glob
import hashlib
import os
import re
import shutil
import struct
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def declaration_block(text):
    """The 'declaration { ... }' block of a golden case, as text."""
    start = re.search(r"^declaration \{", text, re.M)
    depth = 0
    for i in range(start.start(), len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start.start():i + 1]
    raise ValueError("unbalanced golden case")


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    for path in sorted(glob.glob(os.path.join(ROOT, "examples", "**", "*.json"),
                                 recursive=True)):
        with open(path, "rb") as f:
            put("declaration_json_fuzzer", f.read())
    for path in sorted(glob.glob(os.path.join(ROOT, "rules", "testdata",
                                              "*.textproto"))):
        with open(path) as f:
            block = declaration_block(f.read())
        encoded = subprocess.run(
            ["/usr/bin/protoc", "-I", os.path.join(ROOT, "proto"),
             "--encode=tradecheck.v1.CheckDeclarationRequest",
             "tradecheck/v1/compliance_service.proto"],
            input=block.encode(), capture_output=True, check=True).stdout
        put("check_fuzzer", encoded)
    for path in sorted(glob.glob(os.path.join(ROOT, "agreements",
                                              "*.textproto"))):
        if os.path.basename(path) == "ruleset.textproto":
            continue
        with open(path, "rb") as f:
            put("rule_set_fuzzer", f.read())
    for resume in (0, 1, 100, 2**63):
        put("page_token_fuzzer", struct.pack(">Q", resume) + b"0123456789abcdef")
        put("keys_fuzzer", struct.pack(">Q", resume) + bytes(range(0, 40, 3)))


if __name__ == "__main__":
    main()
