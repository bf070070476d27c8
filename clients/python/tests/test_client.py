"""hush_secrets against a real hush server."""

import os
import time

import pytest

from conftest import TRICKY, Server, populate
from hush_secrets import HushSecretsError, config, fetch


def test_an_environment_lands_in_os_environ(world, clean_env, tmp_path):
    server, t = world
    clean_env.setenv("API_KEY", "already set")
    got = config(url=server.url, token=t["locked"], cache_dir=str(tmp_path))
    assert got["DATABASE_URL"] == "postgres://db/prod"
    assert os.environ["DATABASE_URL"] == "postgres://db/prod"
    assert os.environ["API_KEY"] == "already set", "existing variables win, as with dotenv"
    config(url=server.url, token=t["locked"], cache_dir=str(tmp_path), override=True)
    assert os.environ["API_KEY"] == "prod-key"


def test_values_read_back_byte_identical(world, clean_env, tmp_path):
    server, t = world
    got = fetch(url=server.url, token=t["locked"], cache_dir=str(tmp_path))
    for name, value in TRICKY.items():
        assert got[name] == value, name
    assert len(got["BIG"]) == 65536


def test_settings_come_from_the_environment(world, clean_env, tmp_path):
    server, t = world
    clean_env.setenv("HEPGG_SECRETS_URL", server.url)
    clean_env.setenv("HEPGG_SECRETS_TOKEN", t["wide"])
    clean_env.setenv("HEPGG_SECRETS_ENV", "staging")
    assert fetch(cache_dir=str(tmp_path))["API_KEY"] == "staging-key"
    clean_env.delenv("HEPGG_SECRETS_URL")
    clean_env.setenv("HUSH_URL", server.url)
    assert fetch(cache_dir=str(tmp_path))["API_KEY"] == "staging-key"


def test_a_project_wide_token_needs_an_environment(world, clean_env, tmp_path):
    server, t = world
    with pytest.raises(HushSecretsError, match="400.*env="):
        fetch(url=server.url, token=t["wide"], cache_dir=str(tmp_path))
    assert fetch(url=server.url, token=t["wide"], env="production",
                 cache_dir=str(tmp_path))["API_KEY"] == "prod-key"


def test_keys_select_a_subset(world, clean_env, tmp_path):
    server, t = world
    got = fetch(url=server.url, token=t["locked"], keys=["API_KEY", "FEATURE"],
                cache_dir=str(tmp_path))
    assert got == {"API_KEY": "prod-key", "FEATURE": "on"}


def test_a_bad_token_says_what_to_fix(world, clean_env, tmp_path):
    server, _ = world
    with pytest.raises(HushSecretsError, match="401.*HEPGG_SECRETS_TOKEN"):
        fetch(url=server.url, token="hsk_not_a_real_token", cache_dir=str(tmp_path))
    with pytest.raises(HushSecretsError, match="no token"):
        fetch(url=server.url, cache_dir=str(tmp_path))


def test_e2ee_decrypts_with_the_right_key_only(world, clean_env, tmp_path):
    server, t = world
    for key in (t["passphrase"], t["recovery"], t["recovery"].replace("-", "").upper()):
        got = fetch(url=server.url, token=t["e2ee"], key=key, cache_dir=str(tmp_path))
        assert got["SEALED"] == "only the client reads this"
    with pytest.raises(HushSecretsError, match="wrong passphrase"):
        fetch(url=server.url, token=t["e2ee"], key="not the passphrase", cache_dir=str(tmp_path))
    with pytest.raises(HushSecretsError, match="key="):
        fetch(url=server.url, token=t["e2ee"], cache_dir=str(tmp_path))


def test_the_cache_stands_in_and_refuses_tampering(clean_env, tmp_path, capsys):
    server = Server()
    try:
        t = populate(server)
        cache = str(tmp_path / "cache")
        fetch(url=server.url, token=t["locked"], cache_dir=cache)
        fetch(url=server.url, token=t["e2ee"], key=t["passphrase"], cache_dir=cache)
        files = os.listdir(cache)
        assert len(files) == 2
        for name in files:
            mode = os.stat(os.path.join(cache, name)).st_mode & 0o777
            assert mode == 0o600
            raw = open(os.path.join(cache, name), "rb").read()
            assert b"prod-key" not in raw and b"only the client" not in raw
    finally:
        server.stop()
    got = fetch(url=server.url, token=t["locked"], cache_dir=cache)
    assert got["API_KEY"] == "prod-key"
    assert "using the cached copy" in capsys.readouterr().err
    # An E2EE cache keeps ciphertext: the key is still needed.
    with pytest.raises(HushSecretsError, match="key="):
        fetch(url=server.url, token=t["e2ee"], cache_dir=cache)
    assert fetch(url=server.url, token=t["e2ee"], key=t["passphrase"],
                 cache_dir=cache)["SEALED"] == "only the client reads this"
    for name in os.listdir(cache):
        path = os.path.join(cache, name)
        raw = bytearray(open(path, "rb").read())
        raw[-3] ^= 0x40
        open(path, "wb").write(bytes(raw))
    with pytest.raises(HushSecretsError, match="failed authentication"):
        fetch(url=server.url, token=t["locked"], cache_dir=cache)
    with pytest.raises(HushSecretsError, match="no cached copy"):
        fetch(url=server.url, token=t["locked"], cache_dir=str(tmp_path / "empty"))


def test_rate_limits_are_waited_out(clean_env, tmp_path):
    server = Server("--rate-limit-token", "1")
    try:
        h = server.hush
        h("init", "--project", "web", "--env", "production", "--create")
        h("set", "API_KEY=limited")
        token = h("tokens", "create", "app", "--pull")[0].strip()
        started = time.monotonic()
        for _ in range(3):
            assert fetch(url=server.url, token=token, cache=False)["API_KEY"] == "limited"
        assert time.monotonic() - started >= 0.5, "the second pull should have waited"
    finally:
        server.stop()
