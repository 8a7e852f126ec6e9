import { describe, expect, it } from "vitest";
import type { TokenValidation } from "../../../services/auth/domain/session-service.js";
import { createValidateTokenAnswers } from "../../../services/auth/handlers/validate-token-answers.js";

const validation = (overrides: Partial<TokenValidation> = {}): TokenValidation => ({
  userId: "u1",
  sessionId: "s1",
  deviceId: "d1",
  expiresAt: new Date("2026-01-01T00:15:00Z"),
  roles: ["user"],
  authTime: new Date("2026-01-01T00:00:00Z"),
  amr: ["otp"],
  clientId: "",
  scopes: [],
  ...overrides,
});

describe("ValidateToken answers", () => {
  it("answers an equal validation with the same frozen message", () => {
    const answerFor = createValidateTokenAnswers();
    const first = answerFor(validation());
    expect(first).toMatchObject({ valid: true, userId: "u1", sessionId: "s1", deviceId: "d1", roles: ["user"] });
    expect(Object.isFrozen(first)).toBe(true);
    expect(answerFor(validation())).toBe(first);
  });

  it("makes a new answer when anything the token says differs (a refreshed token of the session)", () => {
    const answerFor = createValidateTokenAnswers();
    const first = answerFor(validation());
    const refreshed = answerFor(validation({ expiresAt: new Date("2026-01-01T00:30:00Z") }));
    expect(refreshed).not.toBe(first);
    expect(Number(refreshed.expiresAt?.seconds)).toBe(Date.parse("2026-01-01T00:30:00Z") / 1000);
    const admin = answerFor(validation({ expiresAt: new Date("2026-01-01T00:30:00Z"), roles: ["user", "admin"] }));
    expect(admin.roles).toEqual(["user", "admin"]);
  });

  it("keeps service accounts apart from sessions", () => {
    const answerFor = createValidateTokenAnswers();
    const service = answerFor(
      validation({
        userId: "",
        sessionId: "",
        deviceId: "",
        roles: ["service"],
        clientId: "c1",
        scopes: ["users.read"],
      }),
    );
    expect(service).toMatchObject({ clientId: "c1", scopes: ["users.read"], roles: ["service"] });
  });
});
