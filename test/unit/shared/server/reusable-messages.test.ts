import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { GetMeResponseSchema, UserSchema } from "../../../../gen/mintcoin/user/v1/user_pb.js";
import { encodeMessage, frozenForReuse } from "../../../../services/shared/server/reusable-messages.js";

const response = () =>
  create(GetMeResponseSchema, {
    user: create(UserSchema, {
      id: "u1",
      username: "ada",
      interests: ["chess"],
      createdAt: timestampFromDate(new Date("2026-01-01T00:00:00Z")),
    }),
  });

describe("reusable messages", () => {
  it("freezes a message to its leaves and encodes it once, as toBinary does", () => {
    const message = frozenForReuse(response());
    expect(Object.isFrozen(message.user)).toBe(true);
    expect(Object.isFrozen(message.user?.interests)).toBe(true);
    expect(Object.isFrozen(message.user?.createdAt)).toBe(true);
    const encoded = encodeMessage(GetMeResponseSchema, message);
    expect(encodeMessage(GetMeResponseSchema, message)).toBe(encoded);
    expect([...encoded]).toEqual([...toBinary(GetMeResponseSchema, response())]);
    expect(fromBinary(GetMeResponseSchema, encoded).user?.username).toBe("ada");
  });

  it("encodes a message that is not frozen afresh each time, so a change is sent", () => {
    const message = response();
    const first = encodeMessage(GetMeResponseSchema, message);
    if (message.user) message.user.username = "grace";
    const second = encodeMessage(GetMeResponseSchema, message);
    expect(second).not.toBe(first);
    expect(fromBinary(GetMeResponseSchema, second).user?.username).toBe("grace");
  });
});
