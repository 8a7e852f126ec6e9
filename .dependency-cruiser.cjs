// The import rules of services/ (README, Layout): imports point down only, from the composition
// roots through the inbound adapters (handlers/, consumers/) and the domain to the events, wire.ts
// and the store; services/shared is below both services, which never import each other.
// `npm run lint:imports` runs it; CI fails on any violation.

const service = "^services/(auth|user)/";

// The files that put a service together: the only ones that may import its inbound adapters.
const compositionRoots = [
  "^services/(start|migrate)\\.ts$",
  "^services/(auth|user)/(app|routes|http-routes|main|build-domain|rotate-signing-key|service-account)\\.ts$",
];

// Domain modules of types and pure functions that import nothing of their service, so the store,
// wire.ts and the event builders may use them without reaching a domain service. A module added
// here must stay a leaf (rule domain-leaves-import-nothing-of-their-service).
const domainLeaves = [
  "^services/auth/domain/(devices|otp-purpose|request-origin|sessions|user-agent)\\.ts$",
  "^services/user/domain/profile\\.ts$",
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "An import circle in services/ means two modules that should be one, or a layer pointing up.",
      severity: "error",
      from: { path: "^services/" },
      to: { circular: true },
    },
    {
      name: "auth-and-user-stay-apart",
      comment: "The two services talk through RPCs and events only.",
      severity: "error",
      from: { path: "^services/(auth|user)/" },
      to: { path: "^services/(auth|user)/", pathNot: "^services/$1/" },
    },
    {
      name: "shared-imports-no-service",
      comment: "services/shared is below both services and the client package.",
      severity: "error",
      from: { path: "^services/shared/" },
      to: { path: ["^services/(auth|user|client)/", "^services/[^/]+\\.ts$"] },
    },
    {
      name: "client-imports-only-shared",
      comment: "services/client is a package of its own: generated code and services/shared only.",
      severity: "error",
      from: { path: "^services/client/" },
      to: { path: "^services/", pathNot: "^services/(client|shared)/" },
    },
    {
      name: "nothing-imports-client",
      comment: "The services do not depend on their own client package.",
      severity: "error",
      from: { path: "^services/", pathNot: "^services/client/" },
      to: { path: "^services/client/" },
    },
    {
      name: "domain-not-above-adapters",
      comment: "The domain never imports inbound adapters or the wiring that serves it.",
      severity: "error",
      from: { path: `${service}domain/` },
      to: { path: [`${service}(handlers|consumers)/`, ...compositionRoots] },
    },
    {
      name: "no-proto-in-domain-or-store",
      comment: "Proto types never enter the domain or the store; wire.ts converts at the edge.",
      severity: "error",
      from: { path: `${service}(domain|store)/` },
      to: { path: ["^gen/", `${service}wire\\.ts$`] },
    },
    {
      name: "store-imports-only-domain-leaves",
      comment: "The store sits below the domain services: of its service it imports only store/ and domain leaves.",
      severity: "error",
      from: { path: `${service}store/` },
      to: { path: service, pathNot: [`${service}store/`, ...domainLeaves] },
    },
    {
      name: "wire-imports-only-domain-leaves",
      comment: "wire.ts is below the handlers and the event builders: domain leaves only, never a domain service.",
      severity: "error",
      from: { path: `${service}wire\\.ts$` },
      to: { path: service, pathNot: domainLeaves },
    },
    {
      name: "events-below-the-domain",
      comment: "Event builders turn domain values into outbox rows: wire.ts and domain leaves, no services.",
      severity: "error",
      from: { path: `${service}events/` },
      to: { path: service, pathNot: [`${service}events/`, `${service}wire\\.ts$`, ...domainLeaves] },
    },
    {
      name: "domain-leaves-import-nothing-of-their-service",
      comment: "What the store, wire.ts and the events may import must not lead back up.",
      severity: "error",
      from: { path: domainLeaves },
      to: { path: service },
    },
    {
      name: "only-composition-roots-import-handlers",
      comment: "Handlers are wired by app.ts and routes.ts; nothing else calls them.",
      severity: "error",
      from: { path: "^services/", pathNot: [...compositionRoots, `${service}handlers/`] },
      to: { path: `${service}handlers/` },
    },
    {
      name: "only-composition-roots-import-consumers",
      comment: "Event consumers are started by app.ts; nothing else calls them.",
      severity: "error",
      from: { path: "^services/", pathNot: compositionRoots },
      to: { path: `${service}consumers/` },
    },
  ],
  options: {
    // Type-only imports count: a circle through `import type` is still a circle of meaning.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
  },
};
