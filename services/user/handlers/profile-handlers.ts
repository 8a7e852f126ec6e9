import type { ServiceImpl } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import {
  type GetMeResponse,
  GetMeResponseSchema,
  type UpdateMeRequest,
  type UserService,
} from "../../../gen/mintcoin/user/v1/user_pb.js";
import { frozenForReuse } from "../../shared/server/reusable-messages.js";
import { requirePrincipal } from "../../shared/auth/principal.js";
import type { ProfileFields, UserProfile } from "../domain/profile.js";
import type { ProfileService } from "../domain/profile-service.js";
import { optionalText } from "../domain/profile-values.js";
import { ageBracketFromProto, genderFromProto, userToProto } from "../wire.js";
import { callerOf } from "./caller.js";

type ProfileHandlers = Pick<ServiceImpl<typeof UserService>, "createUser" | "getMe" | "updateMe" | "updateUsername">;

/** The caller's own profile: create it, read it, change it. */
export function createProfileHandlers(deps: { profiles: ProfileService }): ProfileHandlers {
  return {
    async createUser(request, context) {
      const user = await deps.profiles.create(callerOf(context), {
        username: request.username,
        name: request.name,
        avatarUrl: optionalText(request.avatarUrl),
        bio: optionalText(request.bio),
        gender: genderFromProto(request.gender),
        ageBracket: ageBracketFromProto(request.ageBracket),
        dateOfBirth: optionalText(request.dateOfBirth),
        location: optionalText(request.location),
        interests: request.interests,
        referredByCode: optionalText(request.referredByCode),
        registrationSource: optionalText(request.registrationSource),
      });
      return { user: userToProto(user) };
    },

    async getMe(_request, context) {
      return getMeResponse(await deps.profiles.getMe(requirePrincipal(context).userId));
    },

    async updateMe(request, context) {
      const user = await deps.profiles.updateMe(requirePrincipal(context).userId, presentFields(request));
      return { user: userToProto(user) };
    },

    async updateUsername(request, context) {
      const user = await deps.profiles.updateUsername(requirePrincipal(context).userId, request.username);
      return { user: userToProto(user) };
    },
  };
}

/**
 * GetMe's answer for a profile. While the profile is cached (profile-cache.ts) GetMe reads the same
 * profile object again and again: its answer is made once, frozen, and encoded once by the grpc-js
 * adapter (reusable-messages.ts). Kept as long as the profile is, no longer (a WeakMap).
 */
const getMeResponses = new WeakMap<UserProfile, GetMeResponse>();

function getMeResponse(profile: UserProfile): GetMeResponse {
  let response = getMeResponses.get(profile);
  if (response === undefined) {
    response = frozenForReuse(create(GetMeResponseSchema, { user: userToProto(profile) }));
    getMeResponses.set(profile, response);
  }
  return response;
}

/** The fields present in the request; a present empty value clears an optional field. */
function presentFields(request: UpdateMeRequest): Partial<ProfileFields> {
  const fields: Partial<ProfileFields> = {};
  if (request.name !== undefined) fields.name = request.name;
  if (request.avatarUrl !== undefined) fields.avatarUrl = optionalText(request.avatarUrl);
  if (request.bio !== undefined) fields.bio = optionalText(request.bio);
  if (request.gender !== undefined) fields.gender = genderFromProto(request.gender);
  if (request.ageBracket !== undefined) fields.ageBracket = ageBracketFromProto(request.ageBracket);
  if (request.dateOfBirth !== undefined) fields.dateOfBirth = optionalText(request.dateOfBirth);
  if (request.location !== undefined) fields.location = optionalText(request.location);
  if (request.interests !== undefined) fields.interests = request.interests.values;
  return fields;
}
