"""Pull a hush (or Hep.gg-compatible) environment into ``os.environ`` at
launch, like ``dotenv.load_dotenv()``::

    from hush_secrets import config
    config(env="production")          # token from HEPGG_SECRETS_TOKEN / HUSH_TOKEN

It speaks the documented pull endpoint (``GET /api/v1/secrets/pull``), so
it works against hush and any Hep.gg-compatible server. End-to-end-
encrypted projects are decrypted here with ``key`` (passphrase or recovery
key); the server never sees it. Every successful pull refreshes an
encrypted last-good cache, used (with a warning) when the server cannot be
reached.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Dict, Iterable, Optional

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["config", "fetch", "HushSecretsError"]
__version__ = "0.1.0"

DEFAULT_URL = "http://127.0.0.1:8420"
_MAX_RETRIES = 3
_MIN_ITERATIONS = 100_000


class HushSecretsError(Exception):
    """Why secrets could not be loaded; the message says what to fix."""


def _setting(explicit, *names):
    if explicit is not None:
        return explicit
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def config(
    env: Optional[str] = None,
    token: Optional[str] = None,
    url: Optional[str] = None,
    key: Optional[str] = None,
    keys: Optional[Iterable[str]] = None,
    override: bool = False,
    cache: bool = True,
    cache_dir: Optional[str] = None,
    timeout: float = 10.0,
) -> Dict[str, str]:
    """Load the environment's secrets into ``os.environ`` and return them.

    Variables already set win unless ``override`` (as with dotenv). Every
    option falls back to ``HEPGG_SECRETS_*`` then ``HUSH_*`` variables
    (URL, ENV, TOKEN, KEY).
    """
    secrets = fetch(env, token, url, key, keys, cache, cache_dir, timeout)
    for name, value in secrets.items():
        if override or name not in os.environ:
            os.environ[name] = value
    return secrets


def fetch(
    env: Optional[str] = None,
    token: Optional[str] = None,
    url: Optional[str] = None,
    key: Optional[str] = None,
    keys: Optional[Iterable[str]] = None,
    cache: bool = True,
    cache_dir: Optional[str] = None,
    timeout: float = 10.0,
) -> Dict[str, str]:
    """The environment's secrets, without touching ``os.environ``."""
    token = _setting(token, "HEPGG_SECRETS_TOKEN", "HUSH_TOKEN")
    if not token:
        raise HushSecretsError(
            "no token: pass token=… or set HEPGG_SECRETS_TOKEN (a read-only hsk_… pull token)"
        )
    url = (_setting(url, "HEPGG_SECRETS_URL", "HUSH_URL") or DEFAULT_URL).rstrip("/")
    env = _setting(env, "HEPGG_SECRETS_ENV", "HUSH_ENV")
    key = _setting(key, "HEPGG_SECRETS_KEY", "HUSH_KEY")
    wanted = ",".join(keys) if keys is not None and not isinstance(keys, str) else keys
    store = _Cache(cache_dir, url, env, wanted, token) if cache else None
    try:
        data = _pull(url, token, env, wanted, timeout)
    except _Unreachable as err:
        if store is None:
            raise HushSecretsError(f"cannot reach {url}: {err}") from None
        cached = store.load()
        if cached is None:
            raise HushSecretsError(
                f"cannot reach {url} ({err}), and there is no cached copy to fall back on"
            ) from None
        print(
            f"hush-secrets: warning: cannot reach {url} ({err}); "
            f"using the cached copy from {cached['saved_at']}",
            file=sys.stderr,
        )
        data = cached["data"]
    else:
        if store is not None:
            store.save(data)
    return _plaintext(data, key)


class _Unreachable(Exception):
    pass


def _pull(url, token, env, keys, timeout):
    query = {k: v for k, v in (("env", env), ("keys", keys)) if v}
    target = f"{url}/api/v1/secrets/pull"
    if query:
        target += "?" + urllib.parse.urlencode(query)
    request = urllib.request.Request(
        target,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json",
                 "User-Agent": f"hush-secrets-python/{__version__}"},
    )
    for attempt in range(_MAX_RETRIES + 1):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = json.loads(response.read().decode("utf-8"))
            if not body.get("ok") or not isinstance(body.get("data"), dict):
                raise HushSecretsError(f"unexpected answer from {url}: not a pull result")
            return body["data"]
        except urllib.error.HTTPError as err:
            if err.code == 429 and attempt < _MAX_RETRIES:
                time.sleep(_retry_after(err.headers.get("Retry-After")))
                continue
            if err.code >= 500:
                raise _Unreachable(f"the server answered {err.code}") from None
            raise HushSecretsError(_refusal(err)) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise _Unreachable(str(reason)) from None
    raise HushSecretsError("still rate limited after retries; try again later")


def _retry_after(value):
    try:
        return min(max(float(value), 0.0), 30.0)
    except (TypeError, ValueError):
        return 1.0


def _refusal(err):
    try:
        body = json.loads(err.read().decode("utf-8"))
        code, message = body.get("error", ""), body.get("message", "")
    except (ValueError, AttributeError):
        code, message = "", ""
    hint = {
        401: "check the token (HEPGG_SECRETS_TOKEN): it is missing, wrong, revoked or expired",
        400: "this token reads any environment of its project: pass env=… (HEPGG_SECRETS_ENV)",
        404: "no such environment for this token",
    }.get(err.code, "")
    text = f"the server refused the pull ({err.code} {code}): {message}".rstrip(": ")
    return f"{text}; {hint}" if hint else text


def _plaintext(data, key):
    secrets = data.get("secrets") or {}
    if not data.get("e2ee"):
        return {str(k): str(v) for k, v in secrets.items()}
    meta = data.get("e2eeMeta")
    if not isinstance(meta, dict):
        raise HushSecretsError("the project is end-to-end encrypted but its key metadata is missing")
    if not key:
        raise HushSecretsError(
            "the project is end-to-end encrypted: pass key=… (HEPGG_SECRETS_KEY), "
            "its passphrase or recovery key"
        )
    dek = _unlock(meta, key)
    out = {}
    for name, value in secrets.items():
        try:
            sealed = base64.b64decode(value)
            out[name] = AESGCM(dek).decrypt(sealed[:12], sealed[12:], None).decode("utf-8")
        except (InvalidTag, ValueError) as _:
            raise HushSecretsError(
                f"{name} does not decrypt with this project's key (altered, or written with another key)"
            ) from None
    return out


def _normalize_recovery(text):
    digits = "".join(c for c in text if c not in "- ").lower()
    if len(digits) == 64 and all(c in "0123456789abcdef" for c in digits):
        return digits
    return None


def _unlock(meta, secret):
    iterations = int(meta.get("iterations", 0))
    if iterations < _MIN_ITERATIONS:
        raise HushSecretsError("the project's key metadata asks for too few PBKDF2 iterations")
    attempts = [(secret, meta.get("saltPass"), meta.get("wrappedDekPass"))]
    recovery = _normalize_recovery(secret)
    if recovery:
        attempts.insert(0, (recovery, meta.get("saltRec"), meta.get("wrappedDekRec")))
    for text, salt, wrapped in attempts:
        try:
            kek = hashlib.pbkdf2_hmac("sha256", text.encode("utf-8"), base64.b64decode(salt), iterations, 32)
            sealed = base64.b64decode(wrapped)
            dek = AESGCM(kek).decrypt(sealed[:12], sealed[12:], None)
        except (InvalidTag, ValueError, TypeError):
            continue
        verifier = base64.b64encode(hmac.new(dek, b"hush-e2ee-verifier-v1", hashlib.sha256).digest())
        if len(dek) == 32 and hmac.compare_digest(verifier.decode(), str(meta.get("verifier", ""))):
            return dek
    raise HushSecretsError("wrong passphrase or recovery key for this end-to-end-encrypted project")


class _Cache:
    """The last good pull, as the server sent it (ciphertext for an E2EE
    project), sealed with AES-256-GCM under a key derived from the token and
    bound to server, environment and key subset."""

    def __init__(self, directory, url, env, keys, token):
        base = directory or os.environ.get("HUSH_SECRETS_CACHE_DIR") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
            "hush-secrets",
        )
        self.identity = json.dumps(["hush-secrets-cache-v1", url, env or "", keys or ""]).encode()
        self.key = hmac.new(token.encode(), b"hush-secrets-cache-key-v1", hashlib.sha256).digest()
        name = hashlib.sha256(self.key + self.identity).hexdigest()[:32]
        self.path = os.path.join(base, name + ".cache")

    def save(self, data):
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            plain = json.dumps({"saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                "data": data}).encode("utf-8")
            nonce = os.urandom(12)
            sealed = nonce + AESGCM(self.key).encrypt(nonce, plain, self.identity)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(self.path))
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(sealed)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        except OSError as err:
            print(f"hush-secrets: warning: cannot write the cache {self.path}: {err}", file=sys.stderr)

    def load(self):
        try:
            with open(self.path, "rb") as f:
                sealed = f.read()
        except FileNotFoundError:
            return None
        try:
            plain = AESGCM(self.key).decrypt(sealed[:12], sealed[12:], self.identity)
            return json.loads(plain.decode("utf-8"))
        except (InvalidTag, ValueError):
            raise HushSecretsError(
                f"the cache file {self.path} failed authentication (tampered, or another token's); "
                "delete it, and pull once the server is reachable"
            ) from None
