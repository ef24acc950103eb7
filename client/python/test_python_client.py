#!/usr/bin/python3
"""Drives the real tradecheck server from Python, with stubs generated from
the same protos as the C++ code: a check, a dry run, and an audit listing
followed page by page.

Run by CTest (client/CMakeLists.txt sets the environment). By hand:

  TC_SERVER_BINARY=build/server/tradecheck_server TC_PROTO_ROOT=proto \
  TC_AGREEMENTS_DIR=agreements TC_EXAMPLES_DIR=examples \
  /usr/bin/python3 client/python/test_python_client.py

Needs Debian's /usr/bin/python3 with python3-grpcio and python3-protobuf,
/usr/bin/protoc and /usr/bin/grpc_python_plugin.
"""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

ENV = {
    name: os.environ.get(name, "")
    for name in ("TC_SERVER_BINARY", "TC_PROTO_ROOT", "TC_AGREEMENTS_DIR",
                 "TC_EXAMPLES_DIR", "TC_STUB_DIR", "TC_MAKE_CERTS")
}
PROTOC = os.environ.get("PROTOC", "/usr/bin/protoc")
GRPC_PYTHON_PLUGIN = os.environ.get("GRPC_PYTHON_PLUGIN",
                                    "/usr/bin/grpc_python_plugin")


def generate_stubs(proto_root, out_dir):
    """protoc --python_out + grpc_python_plugin for every proto we serve."""
    os.makedirs(out_dir, exist_ok=True)
    protos = sorted(
        os.path.relpath(p, proto_root)
        for pattern in ("tradecheck/v1/*.proto", "google/rpc/*.proto")
        for p in glob.glob(os.path.join(proto_root, pattern)))
    subprocess.run(
        [PROTOC, "-I", proto_root, "--python_out=" + out_dir,
         "--grpc_python_out=" + out_dir,
         "--plugin=protoc-gen-grpc_python=" + GRPC_PYTHON_PLUGIN] + protos,
        check=True)
    return out_dir


class Server:
    """tradecheck_server on 127.0.0.1 with a free port and a fresh data
    directory, stopped by its own pid."""

    def __init__(self, binary, agreements_dir, extra_args=()):
        self.tmp = tempfile.mkdtemp(prefix="tc-python-")
        port_file = os.path.join(self.tmp, "port")
        self.log = open(os.path.join(self.tmp, "server.log"), "wb")
        args = [binary, "--listen=127.0.0.1:0", "--port_file=" + port_file,
                "--metrics_listen=127.0.0.1:0",
                "--data_dir=" + os.path.join(self.tmp, "data")]
        if agreements_dir:
            args.append("--agreements_dir=" + agreements_dir)
        args += list(extra_args)
        self.process = subprocess.Popen(args, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited early: " + self.read_log())
            if os.path.exists(port_file):
                with open(port_file) as f:
                    text = f.read().strip()
                if text:
                    self.address = "127.0.0.1:" + text
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("server did not report its port: " + self.read_log())

    def read_log(self):
        with open(os.path.join(self.tmp, "server.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        """SIGTERM to our pid, then wait; SIGKILL if it does not stop."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return self.process.returncode


class PythonClientTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        missing = [k for k in ("TC_SERVER_BINARY", "TC_PROTO_ROOT",
                               "TC_EXAMPLES_DIR") if not ENV[k]]
        if missing:
            raise unittest.SkipTest("set " + ", ".join(missing))
        cls.stub_tmp = None
        stub_dir = ENV["TC_STUB_DIR"]
        if not stub_dir:
            cls.stub_tmp = tempfile.mkdtemp(prefix="tc-stubs-")
            stub_dir = cls.stub_tmp
        sys.path.insert(0, generate_stubs(ENV["TC_PROTO_ROOT"], stub_dir))

        import grpc  # noqa: E402  (after the stubs exist)
        from google.protobuf import json_format
        from tradecheck.v1 import audit_service_pb2
        from tradecheck.v1 import audit_service_pb2_grpc
        from tradecheck.v1 import common_pb2
        from tradecheck.v1 import compliance_service_pb2
        from tradecheck.v1 import compliance_service_pb2_grpc
        from tradecheck.v1 import declaration_pb2
        cls.grpc = grpc
        cls.json_format = json_format
        cls.audit_pb2 = audit_service_pb2
        cls.common_pb2 = common_pb2
        cls.compliance_pb2 = compliance_service_pb2
        cls.declaration_pb2 = declaration_pb2

        cls.server = Server(ENV["TC_SERVER_BINARY"], ENV["TC_AGREEMENTS_DIR"])
        cls.channel = grpc.insecure_channel(cls.server.address)
        cls.compliance = compliance_service_pb2_grpc.ComplianceServiceStub(
            cls.channel)
        cls.audit = audit_service_pb2_grpc.AuditServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        exit_code = cls.server.stop()
        if cls.stub_tmp:
            shutil.rmtree(cls.stub_tmp, ignore_errors=True)
        if exit_code != 0:
            raise AssertionError("server exited with %d" % exit_code)

    def example(self, name, declaration_id=None):
        with open(os.path.join(ENV["TC_EXAMPLES_DIR"], name)) as f:
            declaration = self.json_format.Parse(
                f.read(), self.declaration_pb2.Declaration())
        if declaration_id:
            declaration.declaration_id = declaration_id
        return declaration

    def check(self, declaration, validate_only=False):
        return self.compliance.CheckDeclaration(
            self.compliance_pb2.CheckDeclarationRequest(
                declaration=declaration, validate_only=validate_only),
            timeout=10)

    def test_check(self):
        response = self.check(
            self.example("customs/my-palm-oil-import.json", "PY-PALM-1"))
        verdict = response.verdict
        self.assertNotEqual(verdict.outcome,
                            self.common_pb2.OUTCOME_UNSPECIFIED)
        self.assertTrue(verdict.decision_id)
        self.assertFalse(verdict.validate_only)
        self.assertEqual(verdict.total_duty.currency_code, "USD")
        rates = [d.rate_basis_points for d in verdict.lines[0].duties]
        self.assertIn(1900, rates)  # Malaysia, 2025-09-15: 19 %
        # The protobuf JSON mapping, as the tradecheck CLI prints it.
        as_json = json.loads(self.json_format.MessageToJson(
            response, preserving_proto_field_name=True))
        self.assertEqual(as_json["verdict"]["declaration_id"], "PY-PALM-1")

        again = self.check(
            self.example("customs/my-palm-oil-import.json", "PY-PALM-1"))
        self.assertTrue(again.replayed)

    def test_denied_export(self):
        response = self.check(
            self.example("exporters/my-re-concentrate-export.json",
                         "PY-RE-1"))
        self.assertEqual(response.verdict.outcome,
                         self.common_pb2.OUTCOME_DENY)
        rule_ids = {f.rule_id for line in response.verdict.lines
                    for f in line.findings}
        self.assertIn("CM-001", rule_ids)

    def test_dry_run(self):
        declaration = self.example("exporters/vn-speakers-dry-run.json",
                                   "PY-DRY-1")
        response = self.check(declaration, validate_only=True)
        self.assertTrue(response.verdict.validate_only)
        # Binds nothing: the same id is still free for the binding check.
        binding = self.check(declaration)
        self.assertFalse(binding.verdict.validate_only)
        self.assertFalse(binding.replayed)

    def test_invalid_argument_names_the_field(self):
        from google.rpc import error_details_pb2, status_pb2
        declaration = self.example("customs/my-palm-oil-import.json",
                                   "PY-BAD-1")
        declaration.lines[0].hs_code = "15111O0000"  # letter O, not zero
        with self.assertRaises(self.grpc.RpcError) as caught:
            self.check(declaration)
        error = caught.exception
        self.assertEqual(error.code(), self.grpc.StatusCode.INVALID_ARGUMENT)
        details = dict(error.trailing_metadata()).get("grpc-status-details-bin")
        self.assertIsNotNone(details)
        status = status_pb2.Status.FromString(details)
        fields = []
        for detail in status.details:
            bad = error_details_pb2.BadRequest()
            if detail.Unpack(bad):
                fields += [v.field for v in bad.field_violations]
        self.assertIn("lines[0].hs_code", fields)

    def test_audit_listing_with_paging(self):
        for i in range(5):
            self.check(self.example("customs/th-furniture-section122.json",
                                    "PY-LIST-%d" % i))
        request = self.audit_pb2.ListDecisionsRequest(
            filter=self.audit_pb2.DecisionFilter(origin_country="TH"),
            page_size=2)
        seen, pages = [], 0
        while True:
            page = self.audit.ListDecisions(request, timeout=10)
            pages += 1
            seen += [d.declaration.declaration_id for d in page.decisions]
            if not page.next_page_token:
                break
            request.page_token = page.next_page_token
        self.assertGreaterEqual(pages, 3)
        for i in range(5):
            self.assertIn("PY-LIST-%d" % i, seen)
        self.assertEqual(len(seen), len(set(seen)))
        # Newest first.
        self.assertEqual(seen[0], "PY-LIST-4")


class PythonMutualTlsTest(unittest.TestCase):
    """The same API over mutual TLS, as each kind of user: the server takes
    the caller's identity and role from its client certificate
    (deploy/make-dev-certs.sh makes them)."""

    @classmethod
    def setUpClass(cls):
        missing = [k for k in ("TC_SERVER_BINARY", "TC_PROTO_ROOT",
                               "TC_EXAMPLES_DIR", "TC_MAKE_CERTS")
                   if not ENV[k]]
        if missing:
            raise unittest.SkipTest("set " + ", ".join(missing))
        cls.stub_tmp = tempfile.mkdtemp(prefix="tc-stubs-tls-")
        if ENV["TC_STUB_DIR"]:
            sys.path.insert(0, ENV["TC_STUB_DIR"])
        sys.path.insert(0, generate_stubs(ENV["TC_PROTO_ROOT"], cls.stub_tmp))
        import grpc
        from google.protobuf import json_format
        from tradecheck.v1 import access_policy_pb2
        from tradecheck.v1 import audit_service_pb2
        from tradecheck.v1 import audit_service_pb2_grpc
        from tradecheck.v1 import compliance_service_pb2
        from tradecheck.v1 import compliance_service_pb2_grpc
        from tradecheck.v1 import declaration_pb2
        cls.grpc = grpc
        cls.json_format = json_format
        cls.roles = access_policy_pb2
        cls.audit_pb2 = audit_service_pb2
        cls.audit_grpc = audit_service_pb2_grpc
        cls.compliance_pb2 = compliance_service_pb2
        cls.compliance_grpc = compliance_service_pb2_grpc
        cls.declaration_pb2 = declaration_pb2
        cls.certs = os.path.join(cls.stub_tmp, "certs")
        subprocess.run([ENV["TC_MAKE_CERTS"], cls.certs], check=True,
                       stderr=subprocess.DEVNULL)
        c = lambda name: os.path.join(cls.certs, name)
        cls.server = Server(ENV["TC_SERVER_BINARY"], ENV["TC_AGREEMENTS_DIR"], [
            "--tls_cert=" + c("server.crt"), "--tls_key=" + c("server.key"),
            "--tls_client_ca=" + c("ca.crt"),
            "--access_policy=" + c("access-policy.textproto")])
        cls.channels = []

    @classmethod
    def tearDownClass(cls):
        for channel in cls.channels:
            channel.close()
        exit_code = cls.server.stop()
        shutil.rmtree(cls.stub_tmp, ignore_errors=True)
        if exit_code != 0:
            raise AssertionError("server exited with %d" % exit_code)

    def connect(self, who):
        """A channel presenting `who`'s certificate (None: no certificate)."""
        def read(name):
            with open(os.path.join(self.certs, name), "rb") as f:
                return f.read()
        credentials = self.grpc.ssl_channel_credentials(
            root_certificates=read("ca.crt"),
            private_key=read(who + ".key") if who else None,
            certificate_chain=read(who + ".crt") if who else None)
        # A distinct option per identity: channels with identical options
        # may share one connection, and with it one certificate.
        channel = self.grpc.secure_channel(
            self.server.address, credentials,
            options=[("tradecheck.identity", who or "none"),
                     ("grpc.use_local_subchannel_pool", 1)])
        self.channels.append(channel)
        return (self.compliance_grpc.ComplianceServiceStub(channel),
                self.audit_grpc.AuditServiceStub(channel))

    def example(self, name, declaration_id):
        with open(os.path.join(ENV["TC_EXAMPLES_DIR"], name)) as f:
            declaration = self.json_format.Parse(
                f.read(), self.declaration_pb2.Declaration())
        declaration.declaration_id = declaration_id
        return declaration

    def test_each_role(self):
        customs, _ = self.connect("customs")
        palm = self.example("customs/my-palm-oil-import.json", "PY-TLS-1")
        verdict = customs.CheckDeclaration(
            self.compliance_pb2.CheckDeclarationRequest(declaration=palm),
            timeout=10).verdict

        exporter_b, _ = self.connect("exporter-b")
        speakers = self.example("exporters/vn-speakers-dry-run.json",
                                "PY-TLS-DRY")
        dry = exporter_b.CheckDeclaration(
            self.compliance_pb2.CheckDeclarationRequest(
                declaration=speakers, validate_only=True), timeout=10)
        self.assertTrue(dry.verdict.validate_only)

        _, auditor = self.connect("auditor")
        record = auditor.GetDecision(
            self.audit_pb2.GetDecisionRequest(decision_id=verdict.decision_id),
            timeout=10)
        self.assertEqual(record.caller,
                         "spiffe://tradecheck.dev/customs/port-klang")
        self.assertEqual(record.caller_role, self.roles.CALLER_ROLE_CUSTOMS)

        # Exporter B may not read the palm-oil record (exporter A's): the
        # same NOT_FOUND as an id nobody holds.
        _, b_audit = self.connect("exporter-b")
        with self.assertRaises(self.grpc.RpcError) as caught:
            b_audit.GetDecision(self.audit_pb2.GetDecisionRequest(
                decision_id=verdict.decision_id), timeout=10)
        self.assertEqual(caught.exception.code(),
                         self.grpc.StatusCode.NOT_FOUND)

        # An auditor may not check.
        auditor_checks, _ = self.connect("auditor")
        with self.assertRaises(self.grpc.RpcError) as caught:
            auditor_checks.CheckDeclaration(
                self.compliance_pb2.CheckDeclarationRequest(
                    declaration=self.example(
                        "customs/my-palm-oil-import.json", "PY-TLS-2")),
                timeout=10)
        self.assertEqual(caught.exception.code(),
                         self.grpc.StatusCode.PERMISSION_DENIED)

    def test_no_certificate_is_unauthenticated(self):
        _, audit = self.connect(None)
        with self.assertRaises(self.grpc.RpcError) as caught:
            audit.ListDecisions(self.audit_pb2.ListDecisionsRequest(),
                                timeout=10)
        self.assertEqual(caught.exception.code(),
                         self.grpc.StatusCode.UNAUTHENTICATED)


if __name__ == "__main__":
    unittest.main(verbosity=2)
