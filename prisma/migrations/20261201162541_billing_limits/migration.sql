-- CreateTable
CREATE TABLE "billing_limits" (
    "organisation_id" UUID NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "spend_cap" BIGINT,
    "low_balance_threshold" BIGINT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "billing_limits_pkey" PRIMARY KEY ("organisation_id","currency")
);

-- AddForeignKey
ALTER TABLE "billing_limits" ADD CONSTRAINT "billing_limits_organisation_id_fkey" FOREIGN KEY ("organisation_id") REFERENCES "organisations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- Limits are amounts, never negative (the API validates first; this is the last check). A
-- trigger, not CHECK: the offline schema engine crashes introspecting CHECK constraints.
CREATE FUNCTION "billing_limits_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."spend_cap" < 0 OR NEW."low_balance_threshold" < 0 THEN
    RAISE EXCEPTION 'billing_limits: amounts must not be negative' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "billing_limits_enforce_rules" BEFORE INSERT OR UPDATE ON "billing_limits"
  FOR EACH ROW EXECUTE FUNCTION "billing_limits_enforce_rules"();
