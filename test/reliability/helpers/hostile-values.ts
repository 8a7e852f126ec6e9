// Values an attacker or a broken client sends: boundary lengths around every limit in our .proto
// files, SQL and control characters, look-alike letters, and what a sloppy client puts in a field.
import fc from "fast-check";

/** Lengths around the max_len/min_len rules of our .proto files (3, 30, 64, 100, 128, 320, 500, 2048, 4096). */
const boundaryLengths = [
  0, 1, 2, 3, 4, 29, 30, 31, 32, 33, 40, 41, 63, 64, 65, 100, 101, 127, 128, 129, 320, 321, 500, 501, 2048, 2049, 4096,
  4097,
];

/** Strings that break naive SQL, LIKE patterns, JSON, logs, terminals and HTTP headers. */
export const injectionStrings = [
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '"; DROP TABLE otp_codes; --',
  "1; select pg_sleep(5)",
  "admin'--",
  "%",
  "_",
  "%_%",
  "\\",
  "\\\\'",
  "$1",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal log4j lookup string, not a template
  "${jndi:ldap://x}",
  "{{7*7}}",
  "<script>alert(1)</script>",
  "../../etc/passwd",
  "null",
  "undefined",
  "NaN",
  "__proto__",
  "constructor",
  "[object Object]",
  "\u0000",
  "a\u0000b",
  "\u0001\u0002\u001f\u007f",
  "\r\n\r\nX-Injected: 1",
  "\t\v\f",
  "\u202eevil\u202c",
  "\u200b\u200c\u200d\u2060",
  "\ufeffadmin",
  "\ud800",
  "\udfff",
  "\ud83d\ude00",
  "e\u0301",
];

/**
 * Usernames and identifiers that look like others: Cyrillic and Greek letters, full-width forms,
 * ligatures, letters whose case mapping changes length (İ, ß) or lands in ASCII (K Kelvin sign).
 */
export const lookAlikes = [
  "admin",
  "Admin",
  "ADMIN",
  "\u0430dmin", // Cyrillic a
  "adm\u0456n", // Cyrillic i
  "\u0391DMIN", // Greek capital alpha
  "\uff41\uff44\uff4d\uff49\uff4e", // full-width admin
  "admin\u200b",
  "ad\u00admin", // soft hyphen
  "\u0130stanbul", // dotted capital I: lower-cases to two code points
  "stra\u00dfe", // sharp s: upper-cases to SS
  "\u212aelvin", // Kelvin sign: lower-cases to ASCII k
  "\ufb03x", // ffi ligature
  "r\u043eot", // Cyrillic o
  "support",
  "mintcoin",
  "a.b",
  "a..b",
  ".ab",
  "ab.",
  "___",
  "abc",
  "ab",
  "a".repeat(30),
  "a".repeat(31),
];

/** Well-formed-looking values, so that some requests get past validation to the handlers and the database. */
export const plausibleValues = [
  "+447911123456",
  "+14155550123",
  "07911 123456",
  "+44 (0)7911-123-456",
  "+999999999999999",
  "+1",
  "ada@example.com",
  "  Ada@Example.COM ",
  "a@b",
  "a@b.c",
  "\u00e9l\u00e8ve@exemple.fr",
  "user@[127.0.0.1]",
  '"quoted local"@example.com',
  "00000000-0000-0000-0000-000000000000",
  "ffffffff-ffff-ffff-ffff-ffffffffffff",
  "123456",
  "000000",
  "12345",
  "1234567",
  "device-1",
  "https://example.com/a.png",
  "javascript:alert(1)",
  "data:text/html,<b>x</b>",
  "2000-02-30",
  "1899-01-01",
  "9999-12-31",
  "0000-00-00",
  "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
  "Bearer x",
];

/** Any string a client could send in a string field (always valid UTF-16; invalid UTF-8 is sent as raw bytes elsewhere). */
export function hostileString(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...injectionStrings, ...lookAlikes, ...plausibleValues) },
    { weight: 2, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
    { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9_.]{1,35}$/) },
    { weight: 1, arbitrary: fc.emailAddress() },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...boundaryLengths), fc.constantFrom("a", "\u00e9", "\ud83d\ude00", "9", "\u0000"))
        .map(([length, unit]) => unit.repeat(length)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...plausibleValues, ...lookAlikes), fc.constantFrom(...injectionStrings))
        .map(([a, b]) => a + b),
    },
  );
}

/** Enum numbers: every defined one, and numbers no enum defines. */
export function hostileEnumNumber(defined: number[]): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...defined) },
    { weight: 1, arbitrary: fc.constantFrom(-1, 99, 2147483647, -2147483648) },
    { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
  );
}

export function hostileInt32(): fc.Arbitrary<number> {
  return fc.oneof(
    fc.constantFrom(0, -1, 1, 2147483647, -2147483648),
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  );
}

export function hostileUint32(): fc.Arbitrary<number> {
  return fc.oneof(fc.constantFrom(0, 1, 4294967295), fc.integer({ min: 0, max: 2 ** 32 - 1 }));
}

export function hostileInt64(): fc.Arbitrary<bigint> {
  return fc.oneof(
    // Timestamps' seconds live here: before year 1, after 9999, and around "now".
    fc.constantFrom(0n, -1n, -62135596801n, 253402300800n, 9223372036854775807n, -9223372036854775808n),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.bigInt({ min: 1_600_000_000n, max: 2_200_000_000n }),
  );
}

export function hostileUint64(): fc.Arbitrary<bigint> {
  return fc.oneof(fc.constantFrom(0n, 1n, 18446744073709551615n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
}

export function hostileDouble(): fc.Arbitrary<number> {
  return fc.oneof(
    fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MAX_VALUE),
    fc.double(),
  );
}
