import type { ConnectRouter } from "@connectrpc/connect";
import { AuthService } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import type { ClientCredentialsGrant } from "./domain/client-credentials.js";
import type { DeviceService } from "./domain/device-service.js";
import type { IdentifierLinking } from "./domain/identifier-linking.js";
import type { IdentifierReplacement } from "./domain/identifier-replacement.js";
import type { KeyRing } from "./domain/key-ring.js";
import type { LoginService } from "./domain/login-service.js";
import type { OtpService } from "./domain/otp-service.js";
import type { OtpVerification } from "./domain/otp-verification.js";
import type { PasswordLogin } from "./domain/password-login.js";
import type { PasswordService } from "./domain/password-service.js";
import type { RefreshService } from "./domain/refresh-service.js";
import type { SessionService } from "./domain/session-service.js";
import type { StepUp } from "./domain/step-up.js";
import { createDeviceHandlers } from "./handlers/device-handlers.js";
import { createIdentifierHandlers } from "./handlers/identifier-handlers.js";
import { createKeyHandlers } from "./handlers/key-handlers.js";
import { createLoginHandlers } from "./handlers/login-handlers.js";
import { createOtpHandlers } from "./handlers/otp-handlers.js";
import { createPasswordHandlers } from "./handlers/password-handlers.js";
import { createServiceTokenHandlers } from "./handlers/service-token-handlers.js";
import { createSessionHandlers } from "./handlers/session-handlers.js";
import { createStepUpHandlers } from "./handlers/step-up-handlers.js";
import { createTokenHandlers } from "./handlers/token-handlers.js";

export interface AuthHandlerDeps {
  otp: OtpService;
  otpVerification: OtpVerification;
  keys: KeyRing;
  login: LoginService;
  refresh: RefreshService;
  sessionService: SessionService;
  passwords: PasswordService;
  passwordLogin: PasswordLogin;
  devices: DeviceService;
  identifierLinking: IdentifierLinking;
  identifierReplacement: IdentifierReplacement;
  stepUp: StepUp;
  clientCredentials: ClientCredentialsGrant;
}

/** Every AuthService RPC, by area (the hostile-input suite calls each one and accepts no UNIMPLEMENTED). */
export function createAuthRoutes(deps: AuthHandlerDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.service(AuthService, {
      ...createOtpHandlers(deps),
      ...createKeyHandlers(deps),
      ...createLoginHandlers(deps),
      ...createSessionHandlers(deps),
      ...createTokenHandlers(deps),
      ...createPasswordHandlers(deps),
      ...createDeviceHandlers(deps),
      ...createIdentifierHandlers(deps),
      ...createStepUpHandlers(deps),
      ...createServiceTokenHandlers(deps),
    });
  };
}
