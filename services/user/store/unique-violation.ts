/**
 * A write hit one of the users table's unique indexes. The store throws it so the domain can say
 * which value is taken without knowing index names or SQLSTATEs.
 */
export class UniqueViolation extends Error {
  constructor(readonly column: "id" | "username" | "referral_code" | "phone" | "email" | "other") {
    super(`unique violation on ${column}`);
    this.name = "UniqueViolation";
  }
}

const indexColumns: Record<string, UniqueViolation["column"]> = {
  users_pkey: "id",
  users_username_lower: "username",
  users_referral_code: "referral_code",
  users_phone: "phone",
  users_email: "email",
};

/** Runs a write and turns Postgres' unique_violation (23505) into a UniqueViolation. */
export async function translatingUniqueViolations<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    const { code, constraint } = error as { code?: unknown; constraint?: unknown };
    if (code === "23505") throw new UniqueViolation(indexColumns[String(constraint)] ?? "other");
    throw error;
  }
}
