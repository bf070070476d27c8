// hush's web dashboard: the little script its pages use, served from this
// server (the Content-Security-Policy allows no other, and no inline code).
// Every page works without it except end-to-end-encrypted projects, whose
// values only a browser holding the key can read or write.
//
// End-to-end encryption is the Hep.gg scheme, exactly as `hush` and
// `hush_core::e2ee` do it, with WebCrypto:
//   - PBKDF2-SHA256(passphrase or normalized recovery key, salt, iterations)
//     gives an AES-256-GCM key that unwraps the project's data key (DEK);
//   - values are AES-256-GCM under the DEK: base64(iv(12) || ct || tag(16));
//   - verifier = base64(HMAC-SHA256(DEK, "hush-e2ee-verifier-v1"));
//   - key proof = hex(HMAC-SHA256(DEK, "hush-e2ee-key-proof-v1")), sent with
//     writes so the server can refuse values written under another key.
// The passphrase and recovery key never leave the page. An unlocked DEK is
// kept in this tab's sessionStorage (so it survives this tab's page loads
// and is gone when the tab closes), under its public verifier.
'use strict';

(() => {
  const ITERATIONS = 210000;
  const utf8 = new TextEncoder();
  const subtle = window.crypto && window.crypto.subtle;

  const b64 = (bytes) => {
    let text = '';
    new Uint8Array(bytes).forEach((b) => { text += String.fromCharCode(b); });
    return btoa(text);
  };
  const unb64 = (text) => Uint8Array.from(atob(text.trim()), (c) => c.charCodeAt(0));
  const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
  const random = (n) => crypto.getRandomValues(new Uint8Array(n));

  // ---- the scheme --------------------------------------------------------

  async function wrappingKey(secret, salt, iterations) {
    const base = await subtle.importKey('raw', utf8.encode(secret), 'PBKDF2', false, ['deriveKey']);
    return subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
      base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  }
  const aesKey = (raw) => subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);

  async function seal(key, bytes) {
    const iv = random(12);
    const sealed = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv }, key, bytes));
    const out = new Uint8Array(12 + sealed.length);
    out.set(iv);
    out.set(sealed, 12);
    return b64(out);
  }
  async function open(key, wire) {
    const bytes = unb64(wire);
    return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: bytes.subarray(0, 12) }, key, bytes.subarray(12)));
  }
  async function hmac(raw, label) {
    const key = await subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new Uint8Array(await subtle.sign('HMAC', key, utf8.encode(label)));
  }
  const normalizeRecovery = (text) => {
    const digits = text.replace(/[- ]/g, '').toLowerCase();
    return /^[0-9a-f]{64}$/.test(digits) ? digits : null;
  };

  // Opens the DEK with a passphrase or a recovery key (either works), as
  // `hush_core::e2ee::unlock` does: the AES-GCM unwrap authenticates it.
  async function unlockDek(meta, secret) {
    const attempts = [[secret, meta.saltPass, meta.wrappedDekPass]];
    const recovery = normalizeRecovery(secret);
    if (recovery) attempts.unshift([recovery, meta.saltRec, meta.wrappedDekRec]);
    for (const [text, salt, wrapped] of attempts) {
      try {
        const key = await wrappingKey(text, unb64(salt), meta.iterations);
        return await open(key, wrapped);
      } catch (_) { /* the next one */ }
    }
    throw new Error('wrong passphrase or recovery key');
  }

  // A new project key: the metadata for the server, the key proof, and the
  // recovery key to show once.
  async function createKey(passphrase) {
    const dek = random(32);
    const recoveryHex = hex(random(32));
    const recovery = recoveryHex.match(/.{8}/g).join('-');
    const saltPass = random(16);
    const saltRec = random(16);
    const meta = {
      iterations: ITERATIONS,
      saltPass: b64(saltPass),
      wrappedDekPass: await seal(await wrappingKey(passphrase, saltPass, ITERATIONS), dek),
      saltRec: b64(saltRec),
      wrappedDekRec: await seal(await wrappingKey(recoveryHex, saltRec, ITERATIONS), dek),
      verifier: b64(await hmac(dek, 'hush-e2ee-verifier-v1')),
    };
    return { dek, meta, recovery, proof: hex(await hmac(dek, 'hush-e2ee-key-proof-v1')) };
  }

  // ---- the tab's unlocked keys -------------------------------------------

  const slot = (verifier) => `hush-dek:${verifier}`;
  const remember = (verifier, dek) => sessionStorage.setItem(slot(verifier), b64(dek));
  const forget = (verifier) => sessionStorage.removeItem(slot(verifier));
  // Signed out (or sent to sign in after the session went idle): every
  // unlocked key of this tab goes too.
  const forgetAll = () => {
    Object.keys(sessionStorage)
      .filter((k) => k.startsWith('hush-dek:'))
      .forEach((k) => sessionStorage.removeItem(k));
  };
  const recalled = (verifier) => {
    const stored = sessionStorage.getItem(slot(verifier));
    return stored ? unb64(stored) : null;
  };

  const say = (el, text) => {
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  };

  // ---- an end-to-end-encrypted project's pages ---------------------------

  async function e2eeProject(holder) {
    const meta = JSON.parse(holder.dataset.meta);
    const unlockForm = document.getElementById('unlock');
    const unlocked = document.getElementById('unlocked');
    let state = null; // { key, proof } once unlocked

    // The unwrap's authentication vouches for the key; the verifier's form
    // is left to each client by the seed, so it is not checked here.
    async function useDek(dek) {
      state = { key: await aesKey(dek), proof: hex(await hmac(dek, 'hush-e2ee-key-proof-v1')) };
      unlockForm.hidden = true;
      unlocked.hidden = false;
      document.querySelectorAll('form[data-seal] input[name=key_proof]').forEach((i) => { i.value = state.proof; });
      for (const code of document.querySelectorAll('[data-sealed]')) {
        try {
          code.textContent = new TextDecoder().decode(await open(state.key, code.dataset.sealed));
          code.classList.add('opened');
        } catch (_) {
          code.textContent = 'does not decrypt with this key';
          code.classList.add('undecryptable');
        }
      }
    }

    unlockForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const input = document.getElementById('unlock-secret');
      const error = document.getElementById('unlock-error');
      say(error, 'Unlocking…');
      try {
        const dek = await unlockDek(meta, input.value);
        input.value = '';
        remember(meta.verifier, dek);
        say(error, '');
        await useDek(dek);
      } catch (_) {
        say(error, 'That passphrase or recovery key does not open this project.');
        input.focus();
      }
    });
    document.getElementById('lock').addEventListener('click', () => {
      forget(meta.verifier);
      window.location.reload();
    });

    // Writes: the value is encrypted here; the plaintext field has no name,
    // so it is never sent.
    document.querySelectorAll('form[data-seal]').forEach((form) => {
      form.addEventListener('submit', async (event) => {
        if (form.dataset.sealed === '1') return;
        event.preventDefault();
        const error = form.querySelector('p.error');
        if (!state) {
          say(error, 'Unlock the project first: values are encrypted in this browser.');
          return;
        }
        const plain = form.querySelector('[data-plain]');
        if (plain) {
          form.querySelector('input[name=value]').value = await seal(state.key, utf8.encode(plain.value));
        }
        form.querySelector('input[name=key_proof]').value = state.proof;
        form.dataset.sealed = '1';
        form.submit();
      });
    });

    const dek = recalled(meta.verifier);
    if (dek) await useDek(dek);
  }

  // ---- creating a project ------------------------------------------------

  function newProjectForm(form) {
    form.addEventListener('submit', async (event) => {
      const e2ee = document.getElementById('mode-e2ee');
      if (!e2ee || !e2ee.checked || form.dataset.ready === '1') return;
      event.preventDefault();
      const error = document.getElementById('e2ee-error');
      const pass = document.getElementById('e2ee-pass').value;
      if (pass.length < 12) {
        say(error, 'Use a passphrase of at least 12 characters: it alone protects the project.');
        return;
      }
      if (pass !== document.getElementById('e2ee-pass2').value) {
        say(error, 'The two passphrases differ.');
        return;
      }
      say(error, 'Making the project key…');
      const key = await createKey(pass);
      form.querySelector('input[name=e2ee_meta]').value = JSON.stringify(key.meta);
      form.querySelector('input[name=key_proof]').value = key.proof;
      document.getElementById('e2ee-pass').value = '';
      document.getElementById('e2ee-pass2').value = '';
      remember(key.meta.verifier, key.dek);
      say(error, '');
      document.getElementById('recovery-key').textContent = key.recovery;
      document.getElementById('recovery').hidden = false;
      document.getElementById('create-project').hidden = true;
      document.getElementById('recovery-saved').focus();
    });
    const saved = document.getElementById('recovery-saved');
    if (saved) {
      saved.addEventListener('click', () => {
        form.dataset.ready = '1';
        form.submit();
      });
    }
  }

  // ---- copy buttons ------------------------------------------------------

  function copyButtons() {
    document.querySelectorAll('button[data-copy]').forEach((button) => {
      button.hidden = false;
      button.addEventListener('click', async () => {
        const source = document.querySelector(button.dataset.copy);
        try {
          await navigator.clipboard.writeText(source.textContent.trim());
          button.textContent = 'Copied';
        } catch (_) {
          window.getSelection().selectAllChildren(source);
          button.textContent = 'Selected: press Ctrl+C';
        }
      });
    });
  }

  // ---- editing a cell in place -------------------------------------------

  // A click (or Enter) on a cell brings it into the "Set a secret" form.
  function cellEditing() {
    const form = document.getElementById('set-cell');
    if (!form) return;
    document.querySelectorAll('#matrix td[data-name]').forEach((cell) => {
      cell.tabIndex = 0;
      cell.classList.add('editable');
      const edit = () => {
        form.querySelector('#cell-name').value = cell.dataset.name;
        form.querySelector('#cell-env').value = cell.dataset.env;
        const value = form.querySelector('#cell-value');
        const shown = cell.querySelector('code.opened, code:not([data-sealed])');
        value.value = shown ? shown.textContent : '';
        value.focus();
      };
      cell.addEventListener('click', edit);
      cell.addEventListener('keydown', (event) => {
        if (event.key === 'Enter') { event.preventDefault(); edit(); }
      });
    });
  }

  document.addEventListener('DOMContentLoaded', () => {
    if (document.getElementById('login') || document.getElementById('setup')) forgetAll();
    document.querySelectorAll('form[action="/dashboard/logout"]').forEach((form) => {
      form.addEventListener('submit', forgetAll);
    });
    copyButtons();
    cellEditing();
    const newProject = document.getElementById('new-project');
    if (newProject) newProjectForm(newProject);
    const holder = document.getElementById('e2ee');
    if (holder && subtle) {
      e2eeProject(holder).catch((err) => say(document.getElementById('unlock-error'), String(err)));
    } else if (holder) {
      say(document.getElementById('unlock-error'),
        'This browser offers no WebCrypto here (it needs https, or localhost).');
    }
  });
})();
