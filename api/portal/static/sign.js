// A delegation's signing key in this browser, and its answers signed with it.
//
// The key is an Ed25519 key WebCrypto makes non-extractable: its private half never leaves the
// browser, not even to this page's own script. It is kept in IndexedDB under its key id. An
// answer is signed over its statement (docs/auditing.md, "Signed answers"): the RFC 8785
// canonical JSON of the answer's fields as the server records them. Without a key, or without
// JavaScript, a form is sent unsigned.
"use strict";

(function () {
  const DB = "concord-keys";
  const STORE = "keys";

  function opened() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function held(keyId) {
    if (!keyId) return null;
    const db = await opened();
    return new Promise((resolve, reject) => {
      const read = db.transaction(STORE).objectStore(STORE).get(keyId);
      read.onsuccess = () => resolve(read.result || null);
      read.onerror = () => reject(read.error);
    });
  }

  async function keep(keyId, pair) {
    const db = await opened();
    return new Promise((resolve, reject) => {
      const write = db.transaction(STORE, "readwrite").objectStore(STORE).put(pair, keyId);
      write.onsuccess = () => resolve();
      write.onerror = () => reject(write.error);
    });
  }

  function b64url(bytes) {
    let text = "";
    for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // RFC 8785 for what statements hold (objects, text, safe integers): keys sorted by their
  // UTF-16 code units, no whitespace, strings as JSON.stringify writes them.
  function canonical(value) {
    if (value !== null && typeof value === "object") {
      const keys = Object.keys(value).sort();
      return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
    }
    return JSON.stringify(value);
  }

  async function keyIdOf(raw) {
    const prefix = new TextEncoder().encode("concord-key\n");
    const both = new Uint8Array(prefix.length + raw.byteLength);
    both.set(prefix);
    both.set(new Uint8Array(raw), prefix.length);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", both));
    return "ed25519:" + Array.from(digest.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function sign(pair, text) {
    const bytes = new TextEncoder().encode(text);
    return b64url(await crypto.subtle.sign({ name: "Ed25519" }, pair.privateKey, bytes));
  }

  // The value a form sends for a field: a textarea's line breaks as CRLF (as browsers send
  // them), a round or an issue as an integer; an empty field is left out.
  function valueOf(form, spec) {
    const [name, type] = spec.split(":");
    const field = form.elements[name];
    if (!field || field.value.trim() === "") return [name, null];
    const value = field.value;
    if (type === "int") return [name, parseInt(value, 10)];
    return [name, field.tagName === "TEXTAREA" ? value.replace(/\r\n|\r|\n/g, "\r\n") : value];
  }

  async function signAnswer(form, signing, pair) {
    const fields = {};
    for (const spec of form.dataset.fields.split(",")) {
      const [name, value] = valueOf(form, spec);
      if (value !== null) fields[name] = value;
    }
    const claimedAt = new Date().toISOString();
    const commandKey = crypto.randomUUID();
    const statement = {
      statement: "concord-answer/v1",
      origin: signing.dataset.origin,
      decision_id: signing.dataset.decision,
      kind: form.dataset.sign,
      member: signing.dataset.member,
      fields: fields,
      key_id: signing.dataset.key,
      command_key: commandKey,
      claimed_at: claimedAt,
    };
    const put = (name, value) => {
      form.elements["signature_" + name].value = value;
    };
    put("key_id", signing.dataset.key);
    put("claimed_at", claimedAt);
    put("command_key", commandKey);
    put("signature", await sign(pair, canonical(statement)));
  }

  // A confirmation is held, from the moment this script runs, until the browser has said
  // whether it holds the member's key (an IndexedDB lookup): one clicked before it knew would
  // otherwise go unsigned from a browser that holds the key.
  function answers(signing) {
    const holding = held(signing.dataset.key).catch(() => null);
    const state = document.getElementById("signing-state");
    holding.then((pair) => {
      if (state) state.textContent = pair ? signing.dataset.signedText : signing.dataset.unsignedText;
    });
    for (const form of document.querySelectorAll("form[data-sign]")) {
      form.addEventListener("submit", (event) => {
        if (form.dataset.signed === "yes") return;
        event.preventDefault();
        holding
          .then((pair) => (pair ? signAnswer(form, signing, pair) : undefined))
          .then(() => {
            form.dataset.signed = "yes";
            form.submit();
          });
      });
    }
  }

  async function registration(panel) {
    const button = document.getElementById("make-key");
    const form = document.getElementById("register-key");
    const current = await held(panel.dataset.key);
    const state = document.getElementById("key-state");
    if (state && panel.dataset.key) {
      state.textContent = current ? panel.dataset.heldText : panel.dataset.elsewhereText;
    }
    button.hidden = false;
    button.addEventListener("click", async () => {
      button.disabled = true;
      const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
      const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
      const keyId = await keyIdOf(raw);
      const publicKey = b64url(raw);
      const statement = canonical({
        statement: "concord-key/v1",
        origin: panel.dataset.origin,
        member: panel.dataset.member,
        change: "register",
        key_id: keyId,
        public_key: publicKey,
      });
      await keep(keyId, pair);
      form.elements.key_id.value = keyId;
      form.elements.public_key.value = publicKey;
      form.elements.possession.value = await sign(pair, statement);
      form.elements.endorsement.value = current ? await sign(current, statement) : "";
      form.submit();
    });
  }

  // A key file `concord keys generate` wrote: its 32-byte seed imported as a non-extractable
  // PKCS #8 key (the fixed DER prefix of an Ed25519 private key, then the seed), kept under the
  // key id the file names. A file for another key signs nothing the registry accepts.
  const PKCS8_PREFIX = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

  function unb64url(text) {
    const plain = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(plain, (c) => c.charCodeAt(0));
  }

  async function imported(panel, file) {
    const given = JSON.parse(await file.text());
    if (given.member !== panel.dataset.member) throw new Error("member");
    const seed = unb64url(given.private_key);
    if (seed.length !== 32) throw new Error("seed");
    const der = new Uint8Array(PKCS8_PREFIX.length + 32);
    der.set(PKCS8_PREFIX);
    der.set(seed, PKCS8_PREFIX.length);
    const privateKey = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
    await keep(given.key_id, { privateKey: privateKey });
    return given.key_id;
  }

  function importing(panel) {
    const input = document.getElementById("key-file");
    const state = document.getElementById("key-state");
    input.closest("div").hidden = false;
    input.addEventListener("change", () => {
      const file = input.files[0];
      if (!file) return;
      imported(panel, file).then(
        (keyId) => {
          state.textContent = keyId === panel.dataset.key ? panel.dataset.heldText : panel.dataset.otherText;
        },
        () => {
          state.textContent = panel.dataset.badFileText;
        },
      );
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!window.crypto || !crypto.subtle || !window.indexedDB) return;
    const signing = document.getElementById("signing");
    if (signing) answers(signing);
    const panel = document.getElementById("key-panel");
    if (panel) {
      registration(panel);
      importing(panel);
    }
  });
})();
