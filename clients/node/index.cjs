'use strict';
/**
 * Pull a hush (or Hep.gg-compatible) environment into process.env at
 * launch, like dotenv:
 *
 *   const { config } = require('hush-secrets');
 *   await config({ env: 'production' }); // token from HEPGG_SECRETS_TOKEN / HUSH_TOKEN
 *
 * It speaks the documented pull endpoint (GET /api/v1/secrets/pull), so it
 * works against hush and any Hep.gg-compatible server. End-to-end-encrypted
 * projects are decrypted here with `key` (passphrase or recovery key); the
 * server never sees it. Every successful pull refreshes an encrypted
 * last-good cache, used (with a warning) when the server cannot be reached.
 * No runtime dependencies: Node's own crypto and http(s) (Node 18+).
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const VERSION = '0.1.0';
const DEFAULT_URL = 'http://127.0.0.1:8420';
const MAX_RETRIES = 3;
const MIN_ITERATIONS = 100000;

/** Why secrets could not be loaded; the message says what to fix. */
class HushSecretsError extends Error {
  constructor(message) {
    super(message);
    this.name = 'HushSecretsError';
  }
}

class Unreachable extends Error {}

function setting(explicit, ...names) {
  if (explicit !== undefined && explicit !== null) return explicit;
  for (const name of names) {
    if (process.env[name]) return process.env[name];
  }
  return undefined;
}

/** Loads the environment's secrets into process.env and returns them. */
async function config(options = {}) {
  const secrets = await fetchSecrets(options);
  for (const [name, value] of Object.entries(secrets)) {
    if (options.override || process.env[name] === undefined) process.env[name] = value;
  }
  return secrets;
}

/** The environment's secrets, without touching process.env. */
async function fetchSecrets(options = {}) {
  const token = setting(options.token, 'HEPGG_SECRETS_TOKEN', 'HUSH_TOKEN');
  if (!token) {
    throw new HushSecretsError('no token: pass { token } or set HEPGG_SECRETS_TOKEN (a read-only hsk_… pull token)');
  }
  const url = (setting(options.url, 'HEPGG_SECRETS_URL', 'HUSH_URL') || DEFAULT_URL).replace(/\/+$/, '');
  const env = setting(options.env, 'HEPGG_SECRETS_ENV', 'HUSH_ENV');
  const key = setting(options.key, 'HEPGG_SECRETS_KEY', 'HUSH_KEY');
  const keys = Array.isArray(options.keys) ? options.keys.join(',') : options.keys;
  const cache = options.cache === false ? null : new Cache(options.cacheDir, url, env, keys, token);
  let data;
  try {
    data = await pull(url, token, env, keys, options.timeout ?? 10000);
  } catch (err) {
    if (!(err instanceof Unreachable)) throw err;
    if (!cache) throw new HushSecretsError(`cannot reach ${url}: ${err.message}`);
    const cached = cache.load();
    if (!cached) {
      throw new HushSecretsError(`cannot reach ${url} (${err.message}), and there is no cached copy to fall back on`);
    }
    process.emitWarning(`cannot reach ${url} (${err.message}); using the cached copy from ${cached.saved_at}`, 'HushSecretsWarning');
    data = cached.data;
  }
  if (cache && data !== undefined && !cache.loaded) cache.save(data);
  return plaintext(data, key);
}

/** One GET with node:http(s) (much cheaper to load than fetch). */
function get(target, headers, timeout) {
  const lib = target.startsWith('https:') ? require('node:https') : require('node:http');
  return new Promise((resolve, reject) => {
    const request = lib.get(target, { headers, timeout }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', (err) => reject(new Unreachable(err.code || err.message)));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeout} ms`)));
    request.on('error', (err) => reject(new Unreachable(err.code || err.message)));
  });
}

async function pull(url, token, env, keys, timeout) {
  const query = new URLSearchParams();
  if (env) query.set('env', env);
  if (keys) query.set('keys', keys);
  const qs = query.toString();
  const target = `${url}/api/v1/secrets/pull${qs ? `?${qs}` : ''}`;
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json', 'User-Agent': `hush-secrets-node/${VERSION}` };
  for (let attempt = 0; ; attempt++) {
    const response = await get(target, headers, timeout);
    if (response.status === 429 && attempt < MAX_RETRIES) {
      await new Promise((r) => setTimeout(r, retryAfter(response.headers['retry-after'])));
      continue;
    }
    if (response.status >= 500) throw new Unreachable(`the server answered ${response.status}`);
    let body;
    try {
      body = JSON.parse(response.text);
    } catch {
      body = null;
    }
    if (response.status < 200 || response.status >= 300) throw new HushSecretsError(refusal(response.status, body));
    if (!body || body.ok !== true || typeof body.data !== 'object') {
      throw new HushSecretsError(`unexpected answer from ${url}: not a pull result`);
    }
    return body.data;
  }
}

function retryAfter(value) {
  const seconds = Number(value);
  return Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0), 30) * 1000 : 1000;
}

function refusal(status, body) {
  const code = body?.error ?? '';
  const message = body?.message ?? '';
  const hints = {
    401: 'check the token (HEPGG_SECRETS_TOKEN): it is missing, wrong, revoked or expired',
    400: 'this token reads any environment of its project: pass { env } (HEPGG_SECRETS_ENV)',
    404: 'no such environment for this token',
  };
  const text = `the server refused the pull (${status} ${code})${message ? `: ${message}` : ''}`;
  return hints[status] ? `${text}; ${hints[status]}` : text;
}

function plaintext(data, key) {
  const secrets = data.secrets || {};
  if (!data.e2ee) return Object.fromEntries(Object.entries(secrets).map(([k, v]) => [k, String(v)]));
  const meta = data.e2eeMeta;
  if (!meta || typeof meta !== 'object') {
    throw new HushSecretsError('the project is end-to-end encrypted but its key metadata is missing');
  }
  if (!key) {
    throw new HushSecretsError('the project is end-to-end encrypted: pass { key } (HEPGG_SECRETS_KEY), its passphrase or recovery key');
  }
  const dek = unlock(meta, key);
  const out = {};
  for (const [name, value] of Object.entries(secrets)) {
    try {
      out[name] = open(dek, Buffer.from(value, 'base64'), undefined).toString('utf8');
    } catch {
      throw new HushSecretsError(`${name} does not decrypt with this project's key (altered, or written with another key)`);
    }
  }
  return out;
}

/** AES-256-GCM: iv(12) ‖ ciphertext ‖ tag(16). */
function open(keyBytes, sealed, aad) {
  if (sealed.length < 28) throw new Error('too short');
  const decipher = crypto.createDecipheriv('aes-256-gcm', keyBytes, sealed.subarray(0, 12));
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
}

function seal(keyBytes, plain, aad) {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', keyBytes, iv);
  if (aad) cipher.setAAD(aad);
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

function normalizeRecovery(text) {
  const digits = text.replace(/[- ]/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(digits) ? digits : null;
}

function unlock(meta, secret) {
  const iterations = Number(meta.iterations);
  if (!(iterations >= MIN_ITERATIONS)) {
    throw new HushSecretsError("the project's key metadata asks for too few PBKDF2 iterations");
  }
  const attempts = [[secret, meta.saltPass, meta.wrappedDekPass]];
  const recovery = normalizeRecovery(secret);
  if (recovery) attempts.unshift([recovery, meta.saltRec, meta.wrappedDekRec]);
  for (const [text, salt, wrapped] of attempts) {
    let dek;
    try {
      const kek = crypto.pbkdf2Sync(Buffer.from(text, 'utf8'), Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
      dek = open(kek, Buffer.from(wrapped, 'base64'));
    } catch {
      continue;
    }
    const verifier = crypto.createHmac('sha256', dek).update('hush-e2ee-verifier-v1').digest('base64');
    const expected = Buffer.from(String(meta.verifier ?? ''));
    if (dek.length === 32 && expected.length === verifier.length && crypto.timingSafeEqual(Buffer.from(verifier), expected)) {
      return dek;
    }
  }
  throw new HushSecretsError('wrong passphrase or recovery key for this end-to-end-encrypted project');
}

/**
 * The last good pull, as the server sent it (ciphertext for an E2EE
 * project), sealed with AES-256-GCM under a key derived from the token and
 * bound to server, environment and key subset.
 */
class Cache {
  constructor(directory, url, env, keys, token) {
    const base = directory || process.env.HUSH_SECRETS_CACHE_DIR
      || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'hush-secrets');
    this.identity = Buffer.from(JSON.stringify(['hush-secrets-cache-v1', url, env || '', keys || '']));
    this.key = crypto.createHmac('sha256', token).update('hush-secrets-cache-key-v1').digest();
    const name = crypto.createHash('sha256').update(Buffer.concat([this.key, this.identity])).digest('hex').slice(0, 32);
    this.path = path.join(base, `${name}.cache`);
    this.loaded = false;
  }

  save(data) {
    try {
      fs.mkdirSync(path.dirname(this.path), { recursive: true, mode: 0o700 });
      const plain = Buffer.from(JSON.stringify({ saved_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), data }));
      const tmp = `${this.path}.${process.pid}.tmp`;
      const fd = fs.openSync(tmp, 'w', 0o600);
      try {
        fs.writeSync(fd, seal(this.key, plain, this.identity));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.path);
    } catch (err) {
      process.emitWarning(`cannot write the cache ${this.path}: ${err.message}`, 'HushSecretsWarning');
    }
  }

  load() {
    let sealed;
    try {
      sealed = fs.readFileSync(this.path);
    } catch (err) {
      if (err.code === 'ENOENT') return null;
      throw err;
    }
    try {
      const cached = JSON.parse(open(this.key, sealed, this.identity).toString('utf8'));
      this.loaded = true;
      return cached;
    } catch {
      throw new HushSecretsError(`the cache file ${this.path} failed authentication (tampered, or another token's); delete it, and pull once the server is reachable`);
    }
  }
}

module.exports = { config, fetch: fetchSecrets, HushSecretsError, VERSION };
