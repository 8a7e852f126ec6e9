import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  openUnder,
  parseKeyEncryptionKey,
  sealedUnder,
  sealUnder,
} from "../../../services/auth/domain/key-encryption.js";
import { createKeyVault, signingKeyContext } from "../../../services/auth/domain/key-vault.js";
import { ConfigError } from "../../../services/shared/config/env.js";

// Keys kept in the auth database are sealed under KEY_ENCRYPTION_KEY (AES-256-GCM, a random nonce
// per encryption, the row authenticated with the value, the KEK's id in a header).

const kekBytes = randomBytes(32);
const kek = parseKeyEncryptionKey(kekBytes.toString("base64"));
const otherKek = parseKeyEncryptionKey(randomBytes(32).toString("hex"));
const secret = new Uint8Array(randomBytes(48));

describe("the key-encryption key's format", () => {
  it("reads 32 bytes written as hex, base64 or base64url, padded or not, around blanks", () => {
    const forms = [
      kekBytes.toString("hex"),
      kekBytes.toString("hex").toUpperCase(),
      kekBytes.toString("base64"),
      kekBytes.toString("base64").replace(/=$/, ""),
      kekBytes.toString("base64url"),
      ` ${kekBytes.toString("base64")}\n`,
    ];
    for (const text of forms) expect(parseKeyEncryptionKey(text).id).toBe(kek.id);
    expect(kek.id).toMatch(/^[0-9a-f]{16}$/);
    expect(otherKek.id).not.toBe(kek.id);
  });

  it("refuses anything but 32 bytes, without repeating the text", () => {
    const wrong = [
      "correct horse battery staple",
      randomBytes(16).toString("base64"),
      randomBytes(31).toString("hex"),
      randomBytes(33).toString("base64"),
      `${randomBytes(32).toString("hex").slice(0, 63)}g`,
      "",
    ];
    for (const text of wrong) {
      let message = "";
      try {
        parseKeyEncryptionKey(text);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/32 random bytes/);
      if (text) expect(message).not.toContain(text);
    }
  });

  it("keeps the AES key out of what a log line or an inspection would show", () => {
    expect(JSON.stringify(kek)).not.toContain(kekBytes.toString("hex"));
    expect(JSON.stringify(kek)).not.toContain(kekBytes.toString("base64"));
  });
});

describe("sealing a stored key", () => {
  it("opens what it sealed, under a fresh nonce each time, with the KEK's id in front", () => {
    const first = sealUnder(kek, secret, "signing_keys/a");
    const second = sealUnder(kek, secret, "signing_keys/a");
    expect(Buffer.from(first).equals(Buffer.from(second))).toBe(false);
    expect(first[0]).toBe(1);
    expect(sealedUnder(first)).toBe(kek.id);
    expect(first.length).toBe(1 + 8 + 12 + secret.length + 16);
    expect(Buffer.from(openUnder(kek, first, "signing_keys/a")).equals(Buffer.from(secret))).toBe(true);
    expect(Buffer.from(first).includes(Buffer.from(secret))).toBe(false);
  });

  it("does not open in another row, after any byte changed, or under another KEK", () => {
    const sealed = sealUnder(kek, secret, "signing_keys/a");
    expect(() => openUnder(kek, sealed, "signing_keys/b")).toThrow(/does not open/);
    expect(() => openUnder(kek, sealed, "server_secrets/a")).toThrow(/does not open/);
    for (const index of [9, 21, sealed.length - 1]) {
      const altered = Buffer.from(sealed);
      altered[index]! ^= 1;
      expect(() => openUnder(kek, altered, "signing_keys/a")).toThrow(/does not open/);
    }
    expect(() => openUnder(otherKek, sealed, "signing_keys/a")).toThrow(/not sealed under/);
    const relabelled = Buffer.from(sealed);
    otherKek.idBytes.copy(relabelled, 1);
    expect(() => openUnder(otherKek, relabelled, "signing_keys/a")).toThrow(/does not open/);
  });
});

describe("the key vault", () => {
  const context = signingKeyContext("kid-1");

  it("stores keys in the clear without a KEK, and sealed with one", () => {
    const clear = createKeyVault({}).seal(context, secret);
    expect(clear).toEqual({ bytes: secret, encrypted: false });
    const vault = createKeyVault({ current: kek });
    const sealed = vault.seal(context, secret);
    expect(sealed.encrypted).toBe(true);
    expect(vault.isCurrent(sealed)).toBe(true);
    expect(vault.isCurrent(clear)).toBe(false);
    expect(Buffer.from(vault.open(context, sealed)).equals(Buffer.from(secret))).toBe(true);
    expect(createKeyVault({}).open(context, clear)).toBe(secret);
  });

  it("with a KEK, opens a key in the clear only to seal it (the start-up reseal), never for use", () => {
    const clear = createKeyVault({}).seal(context, secret);
    const vault = createKeyVault({ current: kek });
    expect(vault.refusesInTheClear(clear)).toBe(true);
    expect(() => vault.open(context, clear)).toThrow(/signing_keys\/kid-1 is stored in the clear/);
    expect(vault.openToReseal(context, clear)).toBe(secret);
    expect(createKeyVault({}).refusesInTheClear(clear)).toBe(false);
  });

  it("reads keys sealed under the previous KEK and marks them for sealing again", () => {
    const old = createKeyVault({ current: otherKek }).seal(context, secret);
    const vault = createKeyVault({ current: kek, previous: otherKek });
    expect(vault.isCurrent(old)).toBe(false);
    expect(Buffer.from(vault.open(context, old)).equals(Buffer.from(secret))).toBe(true);
  });

  it("stops with a configuration error naming KEY_ENCRYPTION_KEY when it cannot open a key", () => {
    const sealed = createKeyVault({ current: otherKek }).seal(context, secret);
    const failures = [
      () => createKeyVault({}).open(context, sealed),
      () => createKeyVault({ current: kek }).open(context, sealed),
      () => createKeyVault({ current: otherKek }).open(signingKeyContext("kid-2"), sealed),
    ];
    for (const open of failures) {
      expect(open).toThrow(ConfigError);
      expect(open).toThrow(/^invalid configuration:\n {2}KEY_ENCRYPTION_KEY: /);
    }
    expect(failures[0]).toThrow(/unset, but the keys stored in the database are encrypted/);
    expect(failures[1]).toThrow(
      new RegExp(`under key-encryption key ${otherKek.id}, not under this one \\(${kek.id}\\)`),
    );
    expect(failures[2]).toThrow(/altered or copied from another row/);
  });
});
