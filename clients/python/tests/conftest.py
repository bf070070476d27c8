"""A real `hush serve` for the client tests, set up with the hush CLI.

The binary comes from HUSH_BIN (the Rust test harness sets it); without it
the suite is skipped, except under CI=true, where that is a failure.
"""

import os
import re
import subprocess
import tempfile
import threading

import pytest

TRICKY = {
    "MULTILINE": "line one\nline two\r\n\tindented",
    "QUOTES": "he said \"hi\" and it's fine",
    "DOLLAR": "$HOME and ${PATH} and $(whoami) and `date`",
    "UNICODE": "ünïcødé 🎉 日本語 \u2028 sep",
    "BIG": ("0123456789abcdef" * 4096)[:65536],
}


# Read once: tests clear HUSH_* variables from the environment.
_HUSH_BIN = os.environ.get("HUSH_BIN")


def hush_bin():
    if _HUSH_BIN:
        return _HUSH_BIN
    message = "HUSH_BIN (the hush binary) is needed to run the client tests against a real server"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


class Server:
    """`hush serve` on an ephemeral port, with its first-start token."""

    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="hush-py-")
        self.proc = subprocess.Popen(
            [hush_bin(), "serve", "--listen", "127.0.0.1:0", "--log", "info",
             "--data-dir", os.path.join(self.dir, "data"), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("HUSH_")},
        )
        self.url = None
        for line in self.proc.stderr:
            found = re.search(r"addr=(\S+)", line)
            if found:
                self.url = "http://" + found.group(1)
                break
        assert self.url, "the server did not start"
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()
        self.admin = None
        for line in self.proc.stdout:
            found = re.search(r"(hush_[A-Za-z0-9_-]+)", line)
            if found:
                self.admin = found.group(1)
                break
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        self.work = os.path.join(self.dir, "work")
        os.makedirs(self.work)

    def hush(self, *args, cwd=None, key=None, stdin=None):
        """Runs the hush CLI as the admin; returns (stdout, stderr)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUSH_")}
        env.update(HUSH_URL=self.url, HUSH_TOKEN=self.admin,
                   HUSH_CONFIG_DIR=os.path.join(self.dir, "config"),
                   HUSH_CACHE_DIR=os.path.join(self.dir, "cache"))
        if key:
            env["HUSH_KEY"] = key
        done = subprocess.run([hush_bin(), *args], cwd=cwd or self.work, env=env,
                              input=stdin, capture_output=True, text=True)
        assert done.returncode == 0, f"hush {args}: {done.stderr}"
        return done.stdout, done.stderr

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def populate(server):
    """web (server-side: production and staging, tricky values) and vault
    (E2EE); returns the tokens and keys the tests use."""
    h = server.hush
    h("init", "--project", "web", "--env", "production", "--create")
    h("set", "DATABASE_URL=postgres://db/prod", "API_KEY=prod-key", "FEATURE=on")
    for name, value in TRICKY.items():
        path = os.path.join(server.dir, name)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(value)
        h("set", name, "--from-file", path)
    h("envs", "create", "staging")
    h("set", "API_KEY=staging-key", "--env", "staging")
    locked = h("tokens", "create", "app", "--pull")[0].strip()
    wide = h("tokens", "create", "wide", "--pull", "--all-envs")[0].strip()
    vault = os.path.join(server.dir, "vault")
    os.makedirs(vault)
    passphrase = "a long e2ee passphrase"
    _, err = h("init", "--project", "vault", "--env", "production", "--e2ee", "--create",
               cwd=vault, key=passphrase)
    recovery = re.search(r"([0-9a-f]{8}(?:-[0-9a-f]{8}){7})", err).group(1)
    h("set", "SEALED=only the client reads this", cwd=vault, key=passphrase)
    e2ee = h("tokens", "create", "vault-app", "--pull", cwd=vault)[0].strip()
    return {"locked": locked, "wide": wide, "e2ee": e2ee,
            "passphrase": passphrase, "recovery": recovery}


@pytest.fixture(scope="session")
def world():
    server = Server()
    try:
        yield server, populate(server)
    finally:
        server.stop()


@pytest.fixture
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("HUSH_", "HEPGG_SECRETS_")) or name in (
            "DATABASE_URL", "API_KEY", "FEATURE", "SEALED", *TRICKY):
            monkeypatch.delenv(name, raising=False)
    return monkeypatch
