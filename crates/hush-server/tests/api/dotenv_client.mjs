// A DotEnv client's cryptography, written apart from hush with Node's own
// crypto, so the tests check hush's wire format against an independent
// implementation of the seed's scheme:
//   seal  KEY_B64            (plaintext on stdin) → base64(IV ‖ ct ‖ tag)
//   open  KEY_B64 WIRE       → plaintext
//   proof KEY_B64 SALT_B64 N → hex PBKDF2-HMAC-SHA256(key, salt, N, 32)
import { createCipheriv, createDecipheriv, randomBytes, pbkdf2Sync } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [cmd, keyB64, a, b] = process.argv.slice(2);
const key = Buffer.from(keyB64, 'base64');
if (cmd === 'seal') {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(readFileSync(0)), cipher.final()]);
  process.stdout.write(Buffer.concat([iv, ct, cipher.getAuthTag()]).toString('base64'));
} else if (cmd === 'open') {
  const buf = Buffer.from(a, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12));
  decipher.setAuthTag(buf.subarray(buf.length - 16));
  process.stdout.write(Buffer.concat([decipher.update(buf.subarray(12, buf.length - 16)), decipher.final()]));
} else if (cmd === 'proof') {
  process.stdout.write(pbkdf2Sync(key, Buffer.from(a, 'base64'), Number(b), 32, 'sha256').toString('hex'));
} else {
  process.stderr.write(`unknown command ${cmd}\n`);
  process.exit(2);
}
