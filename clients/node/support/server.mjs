// A real `hush serve` for the client tests, set up with the hush CLI. The
// binary comes from HUSH_BIN (the Rust test harness sets it).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

export const HUSH_BIN = process.env.HUSH_BIN;

export const TRICKY = {
  MULTILINE: 'line one\nline two\r\n\tindented',
  QUOTES: 'he said "hi" and it\'s fine',
  DOLLAR: '$HOME and ${PATH} and $(whoami) and `date`',
  UNICODE: 'ünïcødé 🎉 日本語 \u2028 sep',
  BIG: '0123456789abcdef'.repeat(4096).slice(0, 65536),
};

function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HUSH_')));
}

export async function startServer(...extra) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hush-node-'));
  const proc = spawn(HUSH_BIN, ['serve', '--listen', '127.0.0.1:0', '--log', 'info', '--data-dir', path.join(dir, 'data'), ...extra], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const firstMatch = (stream, pattern) => new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: stream });
    lines.on('line', (line) => {
      const found = line.match(pattern);
      if (found) resolve(found[1]);
    });
    lines.on('close', () => reject(new Error('the server did not start')));
  });
  const addr = await firstMatch(proc.stderr, /addr=(\S+)/);
  const admin = await firstMatch(proc.stdout, /(hush_[A-Za-z0-9_-]+)/);
  const work = path.join(dir, 'work');
  fs.mkdirSync(work);
  const server = {
    dir,
    url: `http://${addr}`,
    admin,
    hush(args, { cwd = work, key } = {}) {
      const env = { ...cleanEnv(), HUSH_URL: server.url, HUSH_TOKEN: admin, HUSH_CONFIG_DIR: path.join(dir, 'config'), HUSH_CACHE_DIR: path.join(dir, 'cache') };
      if (key) env.HUSH_KEY = key;
      const done = spawnSync(HUSH_BIN, args, { cwd, env, encoding: 'utf8' });
      if (done.status !== 0) throw new Error(`hush ${args.join(' ')}: ${done.stderr}`);
      return { stdout: done.stdout, stderr: done.stderr };
    },
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
  return server;
}

/** web (server-side, tricky values, staging) and vault (E2EE); the tokens and keys. */
export function populate(server) {
  const h = (args, opts) => server.hush(args, opts);
  h(['init', '--project', 'web', '--env', 'production', '--create']);
  h(['set', 'DATABASE_URL=postgres://db/prod', 'API_KEY=prod-key', 'FEATURE=on']);
  for (const [name, value] of Object.entries(TRICKY)) {
    const file = path.join(server.dir, name);
    fs.writeFileSync(file, value);
    h(['set', name, '--from-file', file]);
  }
  h(['envs', 'create', 'staging']);
  h(['set', 'API_KEY=staging-key', '--env', 'staging']);
  const locked = h(['tokens', 'create', 'app', '--pull']).stdout.trim();
  const wide = h(['tokens', 'create', 'wide', '--pull', '--all-envs']).stdout.trim();
  const vault = path.join(server.dir, 'vault');
  fs.mkdirSync(vault);
  const passphrase = 'a long e2ee passphrase';
  const { stderr } = h(['init', '--project', 'vault', '--env', 'production', '--e2ee', '--create'], { cwd: vault, key: passphrase });
  const recovery = stderr.match(/([0-9a-f]{8}(?:-[0-9a-f]{8}){7})/)[1];
  h(['set', 'SEALED=only the client reads this'], { cwd: vault, key: passphrase });
  const e2ee = h(['tokens', 'create', 'vault-app', '--pull'], { cwd: vault }).stdout.trim();
  return { locked, wide, e2ee, passphrase, recovery };
}
