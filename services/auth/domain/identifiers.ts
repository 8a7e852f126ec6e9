// Identifiers are normalised the same way in both services: see services/shared/identifiers.ts.
export { normalizeIdentifier, type IdentifierType } from "../../shared/identifiers.js";
