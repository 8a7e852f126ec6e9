import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The Prometheus series of one service, in a registry of its own. Nothing goes to prom-client's
 * global registry: `npm start` runs both services in one process, and each must serve only its own
 * series on its own port (the process metrics appear on both, which is true of both).
 */
export interface ServiceMetrics {
  readonly registry: Registry;
  /** Finished RPCs by service, method and gRPC code name (OK, RESOURCE_EXHAUSTED, ...). */
  readonly rpcHandled: Counter<"service" | "method" | "code">;
  /** Seconds from the call entering the interceptor chain to its last response message. */
  readonly rpcDuration: Histogram<"service" | "method">;
  /** Calls refused by a rate limit (RESOURCE_EXHAUSTED with RetryInfo), by method. */
  readonly rateLimitRefusals: Counter<"method">;
  /** Events JetStream acknowledged, by subject (a re-publish the stream de-duplicates counts too). */
  readonly eventsPublished: Counter<"subject">;
  readonly eventPublishFailures: Counter<"subject">;
  /** Seconds from an event's transaction to JetStream's acknowledgement of it. */
  readonly relayLag: Histogram;
  /** One-time codes handed to the delivery, by channel: sms (phone) or email. */
  readonly otpSent: Counter<"channel">;
  /** SendOtp calls refused because the channel's global send budget for the window was spent. */
  readonly otpSendBudgetRefusals: Counter<"channel">;
  /** Wrong codes that locked an identifier for VerifyOtp (or extended its lock): sustained guessing. */
  readonly otpIdentifierLocks: Counter;
  /** Failed or refused service-account authentications (client credentials grant), by reason. */
  readonly clientAuthFailures: Counter<"reason">;
  /** Signing-key reloads refused because a key was stored in the clear while a KEK is set. */
  readonly signingKeyReloadsRefused: Counter;
  /** 1 when the readiness check last reached the dependency, 0 when it did not. */
  readonly dependencyUp: Gauge<"dependency">;
  /** Connections the RPC port has accepted (not counting those refused over the cap). */
  readonly connectionsAccepted: Counter;
  /** Connections open on the RPC port, by protocol: "pending" until the first bytes tell, then http1 or http2. */
  readonly connectionsOpen: Gauge<"protocol">;
  /**
   * Connections the RPC port closed on a client that was too slow or one too many, by reason:
   * first_bytes_timeout, headers_timeout, request_body_timeout, over_capacity.
   */
  readonly connectionsCut: Counter<"reason">;
  /** HTTP/2 streams reset because their request did not finish in time (reason request_body_timeout). */
  readonly streamsCut: Counter<"reason">;
  /** ValidateToken calls to the auth service while the revocation feed was not trusted (user service), by outcome. */
  readonly sessionChecks: Counter<"outcome">;
  /** The exposition text for GET /metrics. */
  scrape(): Promise<string>;
}

// Identity calls run from about a millisecond (reads) to tens of milliseconds (argon2, a
// transaction with an event): finer buckets at the low end than prom-client's defaults.
const rpcBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createServiceMetrics(): ServiceMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    rpcHandled: new Counter({
      name: "mintcoin_rpc_handled_total",
      help: "RPCs completed, by service, method and gRPC status code.",
      labelNames: ["service", "method", "code"],
      registers,
    }),
    rpcDuration: new Histogram({
      name: "mintcoin_rpc_duration_seconds",
      help: "RPC latency inside the server, from the first interceptor to the last response message.",
      labelNames: ["service", "method"],
      buckets: rpcBuckets,
      registers,
    }),
    rateLimitRefusals: new Counter({
      name: "mintcoin_rate_limit_refusals_total",
      help: "Calls refused by a rate limit (RESOURCE_EXHAUSTED with a retry delay), by method.",
      labelNames: ["method"],
      registers,
    }),
    eventsPublished: new Counter({
      name: "mintcoin_events_published_total",
      help: "Events published to JetStream by the outbox relay, by subject.",
      labelNames: ["subject"],
      registers,
    }),
    eventPublishFailures: new Counter({
      name: "mintcoin_event_publish_failures_total",
      help: "Failed attempts to publish an outbox event (it stays in the outbox and is retried), by subject.",
      labelNames: ["subject"],
      registers,
    }),
    relayLag: new Histogram({
      name: "mintcoin_outbox_relay_lag_seconds",
      help: "Seconds from the transaction that recorded an event to JetStream acknowledging it (outbox wait, relay batching, publish).",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    otpSent: new Counter({
      name: "mintcoin_otp_sent_total",
      help: "One-time codes handed to the delivery channel, by channel (sms, email).",
      labelNames: ["channel"],
      registers,
    }),
    otpSendBudgetRefusals: new Counter({
      name: "mintcoin_otp_send_budget_refusals_total",
      help: "SendOtp calls refused because the global send budget of the channel (sms, email) was spent for the window.",
      labelNames: ["channel"],
      registers,
    }),
    otpIdentifierLocks: new Counter({
      name: "mintcoin_otp_identifier_locks_total",
      help: "Wrong one-time codes that locked an identifier for VerifyOtp or extended its lock (OTP_LOCKOUT_THRESHOLD reached).",
      registers,
    }),
    clientAuthFailures: new Counter({
      name: "mintcoin_client_authentication_failures_total",
      help: "Failed or refused service-account authentications at the token endpoint and IssueServiceToken, by reason (unknown_client, wrong_secret, disabled, locked, ip_limited).",
      labelNames: ["reason"],
      registers,
    }),
    signingKeyReloadsRefused: new Counter({
      name: "mintcoin_signing_key_reloads_refused_total",
      help: "Signing-key reloads refused because a key was stored in the clear although KEY_ENCRYPTION_KEY is set (the keys loaded before stay in use).",
      registers,
    }),
    dependencyUp: new Gauge({
      name: "mintcoin_dependency_up",
      help: "Whether the last readiness check reached the dependency (database, nats): 1 or 0.",
      labelNames: ["dependency"],
      registers,
    }),
    connectionsAccepted: new Counter({
      name: "mintcoin_connections_accepted_total",
      help: "Connections the RPC port accepted (those refused over MAX_CONNECTIONS are in mintcoin_connections_cut_total).",
      registers,
    }),
    connectionsOpen: new Gauge({
      name: "mintcoin_connections_open",
      help: "Connections open on the RPC port, by protocol (pending until the first bytes tell http1 from http2).",
      labelNames: ["protocol"],
      registers,
    }),
    connectionsCut: new Counter({
      name: "mintcoin_connections_cut_total",
      help: "Connections the RPC port closed on a slow or surplus client, by reason (first_bytes_timeout, headers_timeout, request_body_timeout, over_capacity).",
      labelNames: ["reason"],
      registers,
    }),
    streamsCut: new Counter({
      name: "mintcoin_http2_streams_cut_total",
      help: "HTTP/2 streams reset because their request half did not end in time, by reason (request_body_timeout).",
      labelNames: ["reason"],
      registers,
    }),
    sessionChecks: new Counter({
      name: "mintcoin_session_checks_total",
      help: "Sessions checked with the auth service (ValidateToken) because the revocation feed was not current, by outcome (active, revoked, unavailable).",
      labelNames: ["outcome"],
      registers,
    }),
    scrape: () => registry.metrics(),
  };
}
