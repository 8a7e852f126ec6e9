/** Why a one-time code was asked for; a verification token is only good for the purpose it was made for. */
export type OtpPurpose = "login" | "phone_verification" | "email_verification" | "password_reset" | "step_up";
