import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // A verification that lapsed (KYC_STATUS_EXPIRED), as UpdateKycStatus reports it. The check was
  // declared on the column, so Postgres named it users_kyc_status_check.
  await sql`
    alter table users
      drop constraint users_kyc_status_check,
      add constraint users_kyc_status_check
        check (kyc_status in ('not_started', 'pending', 'verified', 'rejected', 'expired'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table users
      drop constraint users_kyc_status_check,
      add constraint users_kyc_status_check check (kyc_status in ('not_started', 'pending', 'verified', 'rejected'))`.execute(
    db,
  );
}
