#!/usr/bin/python3
"""Verifies one inclusion proof of the tradecheck audit trail, and the
signed tree head it leads to, from docs/storage.md ("Merkle tree and signed
tree heads") alone: Python's hashlib for RFC 9162 hashing, and the
`cryptography` package (Debian: python3-cryptography) for Ed25519. Nothing
here trusts a hash the server computed.

Run by CTest (client_python_merkle_test) against the real server. By hand:

  TC_SERVER_BINARY=build/server/tradecheck_server TC_PROTO_ROOT=proto \\
  TC_AGREEMENTS_DIR=agreements TC_EXAMPLES_DIR=examples \\
  /usr/bin/python3 client/python/merkle_walkthrough.py
"""

import hashlib
import os
import shutil
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_python_client import ENV, Server, generate_stubs  # noqa: E402

from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives.serialization import (  # noqa: E402
    load_pem_public_key)


# --- RFC 9162 section 2.1, as docs/storage.md states it -----------------------

def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion_proof(index, size, leaf, path):
    """RFC 9162 2.1.3.2: the root the audit path leads to, or None."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def signed_message(stream, tree_size, timestamp_unix_nanos, root, epoch,
                   store_identity):
    """The bytes an Ed25519 tree-head signature covers."""
    return (b"tradecheck tree head v1\n" + struct.pack(">B", stream) +
            struct.pack(">Q", tree_size) +
            struct.pack(">q", timestamp_unix_nanos) + root +
            struct.pack(">Q", epoch) +
            struct.pack(">H", len(store_identity)) + store_identity)


def parse_log_line(line):
    """A tree-head log line: TH1 stream size time root epoch store sig."""
    f = line.split(" ")
    assert f[0] == "TH1" and len(f) == 8, line
    return {"stream": {"binding": 1, "validate_only": 2}[f[1]],
            "tree_size": int(f[2]), "timestamp": int(f[3]),
            "root": bytes.fromhex(f[4]), "epoch": int(f[5]),
            "store_identity": b"" if f[6] == "-" else bytes.fromhex(f[6]),
            "signature": bytes.fromhex(f[7])}


class MerkleWalkthrough(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        missing = [k for k in ("TC_SERVER_BINARY", "TC_PROTO_ROOT",
                               "TC_EXAMPLES_DIR") if not ENV[k]]
        if missing:
            raise unittest.SkipTest("set " + ", ".join(missing))
        cls.stub_tmp = tempfile.mkdtemp(prefix="tc-merkle-stubs-")
        sys.path.insert(0, generate_stubs(ENV["TC_PROTO_ROOT"], cls.stub_tmp))
        import grpc
        from google.protobuf import json_format
        from tradecheck.v1 import audit_service_pb2 as audit_pb2
        from tradecheck.v1 import audit_service_pb2_grpc
        from tradecheck.v1 import compliance_service_pb2 as compliance_pb2
        from tradecheck.v1 import compliance_service_pb2_grpc
        from tradecheck.v1 import declaration_pb2
        cls.audit_pb2, cls.compliance_pb2 = audit_pb2, compliance_pb2
        cls.server = Server(ENV["TC_SERVER_BINARY"], ENV["TC_AGREEMENTS_DIR"])
        cls.channel = grpc.insecure_channel(cls.server.address)
        cls.audit = audit_service_pb2_grpc.AuditServiceStub(cls.channel)
        compliance = compliance_service_pb2_grpc.ComplianceServiceStub(
            cls.channel)
        with open(os.path.join(ENV["TC_EXAMPLES_DIR"],
                               "customs/my-palm-oil-import.json")) as f:
            declaration = json_format.Parse(f.read(),
                                            declaration_pb2.Declaration())
        for i in range(6):
            declaration.declaration_id = "PY-MERKLE-%d" % i
            compliance.CheckDeclaration(compliance_pb2.CheckDeclarationRequest(
                declaration=declaration), timeout=10)
        data_dir = os.path.join(cls.server.tmp, "data")
        with open(data_dir + ".tree-head-key.pem.pub", "rb") as f:
            cls.public_key = load_pem_public_key(f.read())
        with open(data_dir + ".tree-heads.log") as f:
            cls.log_lines = [l.strip() for l in f if l.strip()]

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.stop()
        shutil.rmtree(cls.stub_tmp, ignore_errors=True)

    def test_one_inclusion_proof_from_the_document_alone(self):
        # 1. The newest signed head: check its signature over the documented
        #    message bytes.
        head = self.audit.GetSignedTreeHead(
            self.audit_pb2.GetSignedTreeHeadRequest(), timeout=10)
        nanos = head.timestamp.seconds * 10**9 + head.timestamp.nanos
        message = signed_message(head.stream, head.tree_size, nanos,
                                 head.root_hash, head.epoch,
                                 head.store_identity)
        self.public_key.verify(head.signature, message)  # raises if forged
        # The witness log holds the same head, same bytes.
        logged = parse_log_line(self.log_lines[-1])
        self.assertEqual(logged["root"], head.root_hash)
        self.public_key.verify(logged["signature"], signed_message(
            logged["stream"], logged["tree_size"], logged["timestamp"],
            logged["root"], logged["epoch"], logged["store_identity"]))

        # 2. A decision, and its leaf hash recomputed from its own content:
        #    deterministic serialization without the two record_hash fields.
        decision = self.audit.GetDecision(
            self.audit_pb2.GetDecisionRequest(decision_id="b-000000000004"),
            timeout=10)
        entry = self.audit_pb2.Decision()
        entry.CopyFrom(decision)
        entry.record_hash = ""
        entry.verdict.record_hash = ""
        leaf = leaf_hash(entry.SerializeToString(deterministic=True))
        self.assertEqual(leaf.hex(), decision.record_hash)

        # 3. Its audit path against the signed size leads to the signed root.
        proof = self.audit.GetInclusionProof(
            self.audit_pb2.GetInclusionProofRequest(
                decision_id="b-000000000004", tree_size=head.tree_size),
            timeout=10)
        self.assertEqual(proof.leaf_index, decision.sequence - 1)
        root = root_from_inclusion_proof(proof.leaf_index, head.tree_size,
                                         leaf, list(proof.audit_path))
        self.assertEqual(root, head.root_hash)

        # A decision altered in transit no longer leads there.
        self.assertNotEqual(root_from_inclusion_proof(
            proof.leaf_index, head.tree_size, leaf_hash(b"altered"),
            list(proof.audit_path)), head.root_hash)
        with self.assertRaises(InvalidSignature):
            self.public_key.verify(head.signature, message[:-1] + b"\x01")


if __name__ == "__main__":
    unittest.main()
