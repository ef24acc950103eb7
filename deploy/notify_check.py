#!/usr/bin/python3
"""Runs an installed tradecheck_server as systemd's Type=notify would and
checks what it tells systemd. Used by deploy/test-install.sh:

    notify_check.py PREFIX SCRATCH_DIR

- READY=1 arrives on NOTIFY_SOCKET only once the server serves: by then the
  port file exists and the installed `tradecheck health` says SERVING;
- the server found its agreement data beside itself (no --agreements_dir);
- SIGTERM gives STOPPING=1 and a clean exit 0.
"""
import os
import signal
import socket
import subprocess
import sys
import time


def fail(message, log_path=None):
    if log_path and os.path.exists(log_path):
        with open(log_path) as f:
            message += "\nserver log:\n" + f.read()
    sys.exit("FAIL: " + message)


def main():
    prefix, scratch = sys.argv[1], sys.argv[2]
    notify_path = os.path.join(scratch, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(notify_path)
    sock.settimeout(60)
    port_file = os.path.join(scratch, "port")
    log_path = os.path.join(scratch, "server.log")
    env = dict(os.environ, NOTIFY_SOCKET=notify_path)
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [os.path.join(prefix, "bin", "tradecheck_server"),
             "--listen=127.0.0.1:0", "--port_file=" + port_file,
             "--metrics_listen=127.0.0.1:0",
             "--data_dir=" + os.path.join(scratch, "data")],
            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        try:
            message = sock.recv(4096).decode()
        except socket.timeout:
            fail("no sd_notify message within 60 s", log_path)
        if "READY=1" not in message.split("\n"):
            fail("first notification is not READY=1: " + repr(message), log_path)
        if not os.path.exists(port_file):
            fail("READY=1 came before the server wrote its port", log_path)
        with open(port_file) as f:
            port = f.read().strip()
        health = subprocess.run(
            [os.path.join(prefix, "bin", "tradecheck"),
             "--server=127.0.0.1:" + port, "health"],
            capture_output=True, text=True, timeout=30)
        if health.returncode != 0 or health.stdout.strip() != "SERVING":
            fail("tradecheck health: %d %r %r" % (
                health.returncode, health.stdout, health.stderr), log_path)
        with open(log_path) as f:
            log_text = f.read()
        wanted = "agreements_dir=" + os.path.join(prefix, "share", "tradecheck",
                                                  "agreements")
        if wanted not in log_text:
            fail("server did not use the installed agreement data", log_path)
        server.send_signal(signal.SIGTERM)
        try:
            message = sock.recv(4096).decode()
        except socket.timeout:
            fail("no STOPPING=1 after SIGTERM", log_path)
        if "STOPPING=1" not in message.split("\n"):
            fail("expected STOPPING=1, got " + repr(message), log_path)
        code = server.wait(timeout=60)
        if code != 0:
            fail("exit code %d after SIGTERM" % code, log_path)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        sock.close()


if __name__ == "__main__":
    main()
