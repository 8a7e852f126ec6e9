import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../services/shared/errors/domain-errors.js";
import {
  assertUsernameAllowed,
  reservedKey,
  reservedUsernames,
  usernameProblem,
} from "../../../services/user/domain/usernames.js";

// Usernames: 3 to 30 letters, digits, "_" and "."; not reserved, whatever the case or the "." and
// "_" in them. (Uniqueness is the database's unique index, tested against Postgres.)

describe("the shape of a username", () => {
  it.each(["ada", "Ada_Lovelace", "ada.l", "a1b", "x".repeat(30), "___"])("accepts %j", (name) => {
    expect(usernameProblem(name)).toBeUndefined();
  });

  it.each([
    ["two characters", "ab"],
    ["31 characters", "x".repeat(31)],
    ["a space", "ada l"],
    ["a hyphen", "ada-l"],
    ["an at sign", "@ada"],
    ["a letter outside ASCII", "adà"],
    ["a lookalike Cyrillic a", "\u0430da"],
    ["the empty string", ""],
    ["a trailing newline", "ada\n"],
  ])("refuses a name with %s as invalid", (_, name) => {
    expect(usernameProblem(name)).toBe("invalid");
  });
});

describe("reserved names", () => {
  it.each(["admin", "Admin", "ADMIN", "Ad.Min", "ad_min", "support_", "_me_", "www"])("reserves %j", (name) => {
    expect(usernameProblem(name)).toBe("reserved");
  });

  it.each(["mintcoin_fan", "MintCoinNews", "official.ada", "Official_"])(
    "reserves %j, which starts like the platform's own accounts",
    (name) => {
      expect(usernameProblem(name)).toBe("reserved");
    },
  );

  it("keys every built-in entry the way names are compared, so none of them is dead", () => {
    for (const name of reservedUsernames) expect(reservedKey(name)).toBe(name);
  });

  it("lets names that merely contain a reserved word through", () => {
    expect(usernameProblem("adminton")).toBeUndefined();
    expect(usernameProblem("the_support_group")).toBeUndefined();
  });

  it("reserves an operator's extra names by their key, in any spelling", () => {
    const extra = new Set([reservedKey("Mint.Bank")]);
    expect(usernameProblem("mintbank", extra)).toBe("reserved");
    expect(usernameProblem("MINT_BANK", extra)).toBe("reserved");
    expect(usernameProblem("mintbank")).toBeUndefined();
  });

  it("reports a malformed name as invalid before asking whether it is reserved", () => {
    expect(usernameProblem("ad")).toBe("invalid");
    expect(usernameProblem("admin!")).toBe("invalid");
  });
});

describe("refusing a username", () => {
  function refusalOf(name: string): InvalidArgumentError {
    try {
      assertUsernameAllowed(name);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidArgumentError);
      return error as InvalidArgumentError;
    }
    throw new Error(`expected ${JSON.stringify(name)} to be refused`);
  }

  it("names the username field and says what a valid name looks like", () => {
    const error = refusalOf("a b");
    expect(error).toMatchObject({ field: "username", reason: "USERNAME_INVALID" });
    expect(error.message).toContain("3 to 30 letters, digits, _ and .");
  });

  it("names the username field and the reserved name", () => {
    const error = refusalOf("Support");
    expect(error).toMatchObject({ field: "username", reason: "USERNAME_RESERVED" });
    expect(error.message).toContain('"Support" is reserved');
  });

  it("lets an allowed name through", () => {
    expect(() => assertUsernameAllowed("ada_lovelace")).not.toThrow();
  });
});
