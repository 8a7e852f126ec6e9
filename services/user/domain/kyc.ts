import { FailedPreconditionError, InvalidArgumentError } from "../../shared/errors/domain-errors.js";
import type { KycStatus, UserProfile } from "./profile.js";

// Identity verification (KYC) as the provider's integration reports it (UpdateKycStatus in
// user.proto). Pure, like lifecycle.ts: a record in, the next record out (or a refusal).

/** The highest tier a verification grants; 0 is none. */
export const maxKycTier = 2;

/** The statuses a report may set: NOT_STARTED is only where every user begins. */
const reportable = new Set<KycStatus>(["pending", "verified", "rejected", "expired"]);

/**
 * The record after a KYC report, the same record when it holds this status and tier already. A
 * tier above 0 comes only with a verification: pending, rejected and expired grant none, so no
 * record ever says "rejected, tier 2".
 */
export function recordKyc(user: UserProfile, status: KycStatus, tier: number): UserProfile {
  if (!reportable.has(status)) {
    throw new InvalidArgumentError("kyc_status", "kyc_status: must be PENDING, VERIFIED, REJECTED or EXPIRED");
  }
  if (!Number.isInteger(tier) || tier < 0 || tier > maxKycTier) {
    throw new InvalidArgumentError("kyc_tier", `kyc_tier: must be 0 to ${maxKycTier}`);
  }
  if (tier > 0 && status !== "verified") {
    throw new InvalidArgumentError("kyc_tier", "kyc_tier: above 0 needs kyc_status VERIFIED");
  }
  if (user.lifecycleState === "deleted") {
    throw new FailedPreconditionError("the account is deleted: its verification cannot change", "ACCOUNT_DELETED");
  }
  if (user.kycStatus === status && user.kycTier === tier) return user;
  return { ...user, kycStatus: status, kycTier: tier };
}
