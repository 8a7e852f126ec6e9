import { describe, expect, it } from "vitest";
import {
  duration,
  flag,
  list,
  optionalPort,
  optionalUrl,
  parseEnv,
  port,
  positiveInt,
} from "../../../../services/shared/config/env.js";
import { configErrorOf, namesVariable } from "../../support/config-error.js";

// Reading settings from environment variables: each kind of value, its default, and an error that
// names the variable.

const read = <T>(schema: Parameters<typeof parseEnv>[0][string], value: string | undefined) =>
  parseEnv({ SETTING: schema }, { SETTING: value }).SETTING as T;

describe("durations", () => {
  it.each([
    ["250ms", 250],
    ["30s", 30_000],
    ["15m", 900_000],
    ["2h", 7_200_000],
    ["7d", 604_800_000],
    [" 10s ", 10_000],
  ])("reads %j as %d ms", (text, ms) => {
    expect(read(duration("1s"), text)).toBe(ms);
  });

  it("takes the default when unset", () => {
    expect(read(duration("15m"), undefined)).toBe(900_000);
  });

  it.each(["15", "15 minutes", "1.5h", "-1s", "m", ""])(
    "refuses %j, naming the variable and the form expected",
    (text) => {
      const message = configErrorOf(() => read(duration("1s"), text));
      expect(message).toMatch(namesVariable("SETTING"));
      expect(message).toContain('expected a duration like "30s", "15m", "7d"');
    },
  );
});

describe("numbers and ports", () => {
  it("reads a positive whole number, with its default when unset", () => {
    expect(read(positiveInt(5), "12")).toBe(12);
    expect(read(positiveInt(5), undefined)).toBe(5);
  });

  it.each(["0", "-3", "2.5", "many"])("refuses %j as a positive whole number", (text) => {
    expect(configErrorOf(() => read(positiveInt(5), text))).toMatch(namesVariable("SETTING"));
  });

  it("reads a port from 0 to 65535", () => {
    expect(read(port(50051), "0")).toBe(0);
    expect(read(port(50051), "65535")).toBe(65_535);
    expect(read(port(50051), undefined)).toBe(50051);
  });

  it.each(["65536", "-1", "http"])("refuses %j as a port", (text) => {
    expect(configErrorOf(() => read(port(1), text))).toMatch(namesVariable("SETTING"));
  });

  it("leaves an optional port off when unset or empty", () => {
    expect(read(optionalPort(), undefined)).toBeUndefined();
    expect(read(optionalPort(), " ")).toBeUndefined();
    expect(read(optionalPort(), "50061")).toBe(50061);
    expect(configErrorOf(() => read(optionalPort(), "abc"))).toMatch(namesVariable("SETTING"));
  });
});

describe("flags", () => {
  it.each([
    ["true", true],
    ["1", true],
    ["yes", true],
    ["false", false],
    ["0", false],
    ["no", false],
  ])("reads %j as %s", (text, value) => {
    expect(read(flag(!value), text)).toBe(value);
  });

  it("takes the default when unset", () => {
    expect(read(flag(true), undefined)).toBe(true);
    expect(read(flag(false), undefined)).toBe(false);
  });

  it.each(["TRUE", "on", "y", ""])("refuses %j rather than reading it as false", (text) => {
    expect(configErrorOf(() => read(flag(true), text))).toMatch(namesVariable("SETTING"));
  });
});

describe("lists and URLs", () => {
  it("splits a list on commas, trimming entries and dropping empty ones", () => {
    expect(read(list(), " a, b ,,c, ")).toEqual(["a", "b", "c"]);
    expect(read(list(), undefined)).toEqual([]);
    expect(read(list("x,y"), undefined)).toEqual(["x", "y"]);
  });

  it("reads an optional URL, with empty meaning unset", () => {
    expect(read(optionalUrl, "nats://127.0.0.1:4222")).toBe("nats://127.0.0.1:4222");
    expect(read(optionalUrl, "")).toBeUndefined();
    expect(read(optionalUrl, undefined)).toBeUndefined();
    expect(configErrorOf(() => read(optionalUrl, "not a url"))).toMatch(namesVariable("SETTING"));
  });
});

describe("a bad configuration", () => {
  it("names every bad variable, one a line, under one heading", () => {
    const message = configErrorOf(() =>
      parseEnv({ A_PORT: port(1), A_FLAG: flag(true), A_GOOD: positiveInt(1) }, { A_PORT: "x", A_FLAG: "maybe" }),
    );
    expect(message).toMatch(/^invalid configuration:\n/);
    expect(message).toMatch(namesVariable("A_PORT"));
    expect(message).toMatch(namesVariable("A_FLAG"));
    expect(message).not.toMatch(namesVariable("A_GOOD"));
  });

  it("ignores variables the schema does not name", () => {
    expect(parseEnv({ A_PORT: port(1) }, { A_PORT: "2", PATH: "/bin" })).toEqual({ A_PORT: 2 });
  });
});
