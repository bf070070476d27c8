// A Hep.gg end-to-end-encryption client written from the seed alone, apart
// from hush, with Node's crypto: PBKDF2-SHA256(secret, salt, iterations)
// derives an AES-256-GCM key that unwraps a per-project data key (DEK);
// values are AES-256-GCM under the DEK, base64(iv || ciphertext+tag).
//   create PASSPHRASE      → {"e2eeMeta": {...}, "dek": base64}
//   unlock META PASSPHRASE → the DEK, base64
//   seal DEK TEXT          → base64(iv || ciphertext+tag)
//   open DEK WIRE          → the text
import { createCipheriv, createDecipheriv, createHash, pbkdf2Sync, randomBytes } from 'node:crypto';

const ITERATIONS = 210000;
const seal = (key, bytes) => {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(bytes), cipher.final()]);
  return Buffer.concat([iv, ct, cipher.getAuthTag()]).toString('base64');
};
const open = (key, wire) => {
  const buf = Buffer.from(wire, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12));
  decipher.setAuthTag(buf.subarray(buf.length - 16));
  return Buffer.concat([decipher.update(buf.subarray(12, buf.length - 16)), decipher.final()]);
};
const kek = (secret, salt, iterations) => pbkdf2Sync(secret, salt, iterations, 32, 'sha256');

const [cmd, a, b] = process.argv.slice(2);
if (cmd === 'create') {
  const dek = randomBytes(32);
  const recovery = randomBytes(32).toString('hex');
  const saltPass = randomBytes(16);
  const saltRec = randomBytes(16);
  const e2eeMeta = {
    iterations: ITERATIONS,
    saltPass: saltPass.toString('base64'),
    wrappedDekPass: seal(kek(a, saltPass, ITERATIONS), dek),
    saltRec: saltRec.toString('base64'),
    wrappedDekRec: seal(kek(recovery, saltRec, ITERATIONS), dek),
    // The seed leaves the verifier's form to the client: here SHA-256.
    verifier: createHash('sha256').update(dek).digest('base64'),
  };
  process.stdout.write(JSON.stringify({ e2eeMeta, dek: dek.toString('base64') }));
} else if (cmd === 'unlock') {
  const meta = JSON.parse(a);
  const key = kek(b, Buffer.from(meta.saltPass, 'base64'), meta.iterations);
  process.stdout.write(open(key, meta.wrappedDekPass).toString('base64'));
} else if (cmd === 'seal') {
  process.stdout.write(seal(Buffer.from(a, 'base64'), Buffer.from(b, 'utf8')));
} else if (cmd === 'open') {
  process.stdout.write(open(Buffer.from(a, 'base64'), b));
} else {
  process.stderr.write(`unknown command ${cmd}\n`);
  process.exit(2);
}
