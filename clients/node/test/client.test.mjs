// hush-secrets against a real hush server (node --test).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRequire } from 'node:module';

import { config, fetch, HushSecretsError } from '../index.mjs';
import { HUSH_BIN, TRICKY, populate, startServer } from '../support/server.mjs';

const require = createRequire(import.meta.url);
const skip = HUSH_BIN ? false : 'HUSH_BIN (the hush binary) is needed to run the client tests against a real server';
if (skip && process.env.CI === 'true') throw new Error(skip);

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'hush-node-cache-'));
const NAMES = ['DATABASE_URL', 'API_KEY', 'FEATURE', 'SEALED', ...Object.keys(TRICKY)];
function cleanProcessEnv() {
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('HEPGG_SECRETS_') || (name.startsWith('HUSH_') && name !== 'HUSH_BIN') || NAMES.includes(name)) {
      delete process.env[name];
    }
  }
}

describe('against one server', { skip }, () => {
  let server;
  let t;
  before(async () => {
    server = await startServer();
    t = populate(server);
  });
  after(async () => server && server.stop());

  test('an environment lands in process.env; existing variables win', async () => {
    cleanProcessEnv();
    process.env.API_KEY = 'already set';
    const got = await config({ url: server.url, token: t.locked, cacheDir: tmp() });
    assert.equal(got.DATABASE_URL, 'postgres://db/prod');
    assert.equal(process.env.DATABASE_URL, 'postgres://db/prod');
    assert.equal(process.env.API_KEY, 'already set');
    await config({ url: server.url, token: t.locked, cacheDir: tmp(), override: true });
    assert.equal(process.env.API_KEY, 'prod-key');
  });

  test('values read back byte-identical', async () => {
    const got = await fetch({ url: server.url, token: t.locked, cacheDir: tmp() });
    for (const [name, value] of Object.entries(TRICKY)) assert.equal(got[name], value, name);
    assert.equal(got.BIG.length, 65536);
  });

  test('settings come from HEPGG_SECRETS_* and HUSH_*', async () => {
    cleanProcessEnv();
    process.env.HEPGG_SECRETS_URL = server.url;
    process.env.HEPGG_SECRETS_TOKEN = t.wide;
    process.env.HEPGG_SECRETS_ENV = 'staging';
    assert.equal((await fetch({ cacheDir: tmp() })).API_KEY, 'staging-key');
    delete process.env.HEPGG_SECRETS_URL;
    process.env.HUSH_URL = server.url;
    assert.equal((await fetch({ cacheDir: tmp() })).API_KEY, 'staging-key');
    cleanProcessEnv();
  });

  test('a project-wide token needs an environment', async () => {
    await assert.rejects(fetch({ url: server.url, token: t.wide, cacheDir: tmp() }), /400.*\{ env \}/);
    const got = await fetch({ url: server.url, token: t.wide, env: 'production', cacheDir: tmp() });
    assert.equal(got.API_KEY, 'prod-key');
  });

  test('keys select a subset', async () => {
    const got = await fetch({ url: server.url, token: t.locked, keys: ['API_KEY', 'FEATURE'], cacheDir: tmp() });
    assert.deepEqual(got, { API_KEY: 'prod-key', FEATURE: 'on' });
  });

  test('a bad or missing token says what to fix', async () => {
    cleanProcessEnv();
    await assert.rejects(fetch({ url: server.url, token: 'hsk_not_a_real_token', cacheDir: tmp() }), /401.*HEPGG_SECRETS_TOKEN/);
    await assert.rejects(fetch({ url: server.url, cacheDir: tmp() }), (err) => err instanceof HushSecretsError && /no token/.test(err.message));
  });

  test('E2EE decrypts with the right key only', async () => {
    for (const key of [t.passphrase, t.recovery, t.recovery.replaceAll('-', '').toUpperCase()]) {
      const got = await fetch({ url: server.url, token: t.e2ee, key, cacheDir: tmp() });
      assert.equal(got.SEALED, 'only the client reads this');
    }
    await assert.rejects(fetch({ url: server.url, token: t.e2ee, key: 'not the passphrase', cacheDir: tmp() }), /wrong passphrase/);
    await assert.rejects(fetch({ url: server.url, token: t.e2ee, cacheDir: tmp() }), /\{ key \}/);
  });

  test('CommonJS and ESM are the same module', () => {
    assert.equal(require('../index.cjs').config, config);
  });
});

test('the cache stands in and refuses tampering', { skip }, async () => {
  cleanProcessEnv();
  const server = await startServer();
  const cacheDir = tmp();
  let t;
  try {
    t = populate(server);
    await fetch({ url: server.url, token: t.locked, cacheDir });
    await fetch({ url: server.url, token: t.e2ee, key: t.passphrase, cacheDir });
    const files = fs.readdirSync(cacheDir);
    assert.equal(files.length, 2);
    for (const name of files) {
      const file = path.join(cacheDir, name);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const raw = fs.readFileSync(file);
      assert.ok(!raw.includes('prod-key') && !raw.includes('only the client'));
    }
  } finally {
    await server.stop();
  }
  const warnings = [];
  const onWarning = (w) => warnings.push(w.message);
  process.on('warning', onWarning);
  const got = await fetch({ url: server.url, token: t.locked, cacheDir });
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  assert.equal(got.API_KEY, 'prod-key');
  assert.ok(warnings.some((m) => m.includes('using the cached copy')), warnings.join('\n'));
  await assert.rejects(fetch({ url: server.url, token: t.e2ee, cacheDir }), /\{ key \}/);
  const sealed = await fetch({ url: server.url, token: t.e2ee, key: t.passphrase, cacheDir });
  assert.equal(sealed.SEALED, 'only the client reads this');
  for (const name of fs.readdirSync(cacheDir)) {
    const file = path.join(cacheDir, name);
    const raw = fs.readFileSync(file);
    raw[raw.length - 3] ^= 0x40;
    fs.writeFileSync(file, raw);
  }
  await assert.rejects(fetch({ url: server.url, token: t.locked, cacheDir }), /failed authentication/);
  await assert.rejects(fetch({ url: server.url, token: t.locked, cacheDir: tmp() }), /no cached copy/);
});

test('rate limits are waited out', { skip }, async () => {
  const server = await startServer('--rate-limit-token', '1');
  try {
    server.hush(['init', '--project', 'web', '--env', 'production', '--create']);
    server.hush(['set', 'API_KEY=limited']);
    const token = server.hush(['tokens', 'create', 'app', '--pull']).stdout.trim();
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      assert.equal((await fetch({ url: server.url, token, cache: false })).API_KEY, 'limited');
    }
    assert.ok(Date.now() - started >= 500, 'the second pull should have waited');
  } finally {
    await server.stop();
  }
});
