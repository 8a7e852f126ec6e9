import { PermissionDeniedError } from "../../shared/errors/domain-errors.js";

/** What is known about a sign-in when it is assessed (nothing here is proto or SQL). */
export interface SignInFacts {
  newUser: boolean;
  /** The device has never signed in to this account. */
  newDevice: boolean;
  trustedDevice: boolean;
  blockedDevice: boolean;
  /** The IP has been seen on one of the account's sessions or devices before. */
  knownIp: boolean;
  /**
   * The IP's network (IPv4 /24, IPv6 /48) is among the device's recent networks, or there is
   * nothing to compare with (no history yet, or no usable IP).
   */
  knownNetwork: boolean;
  /** Failed attempts (wrong codes or passwords) for the identifier just before this success. */
  recentFailures: number;
}

/** The suspicious-login signals, as named on auth.login's `suspicious_reasons`. */
export const signInSignals = ["new_device", "new_ip", "new_network", "recent_failures"] as const;
export type SignInSignal = (typeof signInSignals)[number];

/**
 * What a raised signal does to the sign-in: "allow" only flags it on auth.login; "step_up" lets it
 * through with a session that holds no recent authentication (sensitive RPCs answer
 * STEP_UP_REQUIRED until the person steps up); "refuse" refuses it (PERMISSION_DENIED).
 */
export const riskActions = ["allow", "step_up", "refuse"] as const;
export type RiskAction = (typeof riskActions)[number];

/** The action for each signal (LOGIN_RISK_* in the configuration). */
export type LoginRiskPolicy = Record<SignInSignal, RiskAction>;

export interface SignInAssessment {
  /** Set when the sign-in must be refused (PERMISSION_DENIED). */
  refusal: "device_blocked" | "suspicious" | null;
  /** The signals raised, recorded on auth.login. */
  reasons: SignInSignal[];
  /** The sign-in goes through, but its session needs a step-up before sensitive actions. */
  stepUpRequired: boolean;
}

/** Failures before a success that make the sign-in worth flagging. */
export const recentFailuresFlag = 3;

/**
 * The suspicious-login checks and what the policy makes of them. A blocked device is always
 * refused. A first sign-in has nothing to compare with, so only the failure count can flag it; a
 * trusted device skips the novelty checks (new device, IP, network). A new device raises
 * new_device, not new_network too: it has no networks of its own yet. The strongest action among
 * the raised signals decides (refuse over step up over allow).
 */
export function assessSignIn(facts: SignInFacts, policy: LoginRiskPolicy): SignInAssessment {
  if (facts.blockedDevice) return { refusal: "device_blocked", reasons: [], stepUpRequired: false };
  const reasons: SignInSignal[] = [];
  if (!facts.newUser && !facts.trustedDevice) {
    if (facts.newDevice) reasons.push("new_device");
    if (!facts.knownIp) reasons.push("new_ip");
    if (!facts.newDevice && !facts.knownNetwork) reasons.push("new_network");
  }
  if (facts.recentFailures >= recentFailuresFlag) reasons.push("recent_failures");
  const actions = reasons.map((signal) => policy[signal]);
  if (actions.includes("refuse")) return { refusal: "suspicious", reasons, stepUpRequired: false };
  return { refusal: null, reasons, stepUpRequired: actions.includes("step_up") };
}

/** A sign-in refused by the policy; `signals` are the raised signals configured to refuse. */
export class SuspiciousSignInError extends PermissionDeniedError {
  override readonly metadata: Readonly<Record<string, string>>;
  constructor(readonly signals: SignInSignal[]) {
    super(
      `this sign-in was refused as suspicious (${signals.join(", ")}); sign in from a device you used before, or contact support`,
      "SUSPICIOUS_SIGN_IN",
    );
    this.metadata = { signals: signals.join(",") };
  }
}

/** The refused signals of an assessment, for SuspiciousSignInError. */
export function refusedSignals(assessment: SignInAssessment, policy: LoginRiskPolicy): SignInSignal[] {
  return assessment.reasons.filter((signal) => policy[signal] === "refuse");
}
