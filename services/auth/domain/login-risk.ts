/** What is known about a sign-in when it is assessed (nothing here is proto or SQL). */
export interface SignInFacts {
  newUser: boolean;
  /** The device has never signed in to this account. */
  newDevice: boolean;
  trustedDevice: boolean;
  blockedDevice: boolean;
  /** The IP has been seen on one of the account's sessions or devices before. */
  knownIp: boolean;
  /** Failed attempts (wrong codes or passwords) for the identifier just before this success. */
  recentFailures: number;
}

export interface SignInAssessment {
  /** Set when the sign-in must be refused: the reason, for PERMISSION_DENIED. */
  refusal: "device_blocked" | null;
  /** Flags recorded on auth.login: "new_device", "new_ip", "recent_failures". */
  reasons: string[];
}

/** Failures before a success that make the sign-in worth flagging. */
export const recentFailuresFlag = 3;

/**
 * The suspicious-login checks. A blocked device is refused; everything else is flagged on the
 * auth.login event for fraud tooling and notifications, not refused, because a person on a new
 * phone or network is the common case. A first sign-in has nothing to compare with, so only the
 * failure count can flag it; a trusted device skips the novelty checks.
 */
export function assessSignIn(facts: SignInFacts): SignInAssessment {
  if (facts.blockedDevice) return { refusal: "device_blocked", reasons: ["blocked_device"] };
  const reasons: string[] = [];
  if (!facts.newUser && !facts.trustedDevice) {
    if (facts.newDevice) reasons.push("new_device");
    if (!facts.knownIp) reasons.push("new_ip");
  }
  if (facts.recentFailures >= recentFailuresFlag) reasons.push("recent_failures");
  return { refusal: null, reasons };
}
