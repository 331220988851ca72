-- CreateTable
CREATE TABLE "billing_profiles" (
    "organisation_id" UUID NOT NULL,
    "legal_name" VARCHAR(200) NOT NULL,
    "tax_id" VARCHAR(32),
    "address" VARCHAR(500) NOT NULL,
    "country_code" CHAR(2) NOT NULL,
    "email" VARCHAR(320),
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "billing_profiles_pkey" PRIMARY KEY ("organisation_id")
);

-- CreateTable
CREATE TABLE "invoice_counters" (
    "issuer" VARCHAR(8) NOT NULL,
    "year" INTEGER NOT NULL,
    "last_number" INTEGER NOT NULL,

    CONSTRAINT "invoice_counters_pkey" PRIMARY KEY ("issuer","year")
);

-- CreateTable
CREATE TABLE "invoices" (
    "id" UUID NOT NULL,
    "number" VARCHAR(32) NOT NULL,
    "issuer" VARCHAR(8) NOT NULL,
    "year" INTEGER NOT NULL,
    "sequence" INTEGER NOT NULL,
    "lease_id" UUID NOT NULL,
    "buyer_organisation_id" UUID NOT NULL,
    "provider_organisation_id" UUID NOT NULL,
    "market" VARCHAR(64) NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "seller_name" VARCHAR(200) NOT NULL,
    "seller_tax_id" VARCHAR(32) NOT NULL,
    "seller_address" VARCHAR(500) NOT NULL,
    "buyer_name" VARCHAR(200) NOT NULL,
    "buyer_tax_id" VARCHAR(32),
    "buyer_address" VARCHAR(500),
    "buyer_country_code" CHAR(2),
    "net" BIGINT NOT NULL,
    "vat_rate_bps" INTEGER NOT NULL,
    "vat" BIGINT NOT NULL,
    "gross" BIGINT NOT NULL,
    "time_zone" VARCHAR(64) NOT NULL,
    "issue_date" DATE NOT NULL,
    "supply_from" TIMESTAMPTZ(3) NOT NULL,
    "supply_to" TIMESTAMPTZ(3) NOT NULL,
    "issued_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "invoices_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "invoice_lines" (
    "invoice_id" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "starts_at" TIMESTAMPTZ(3) NOT NULL,
    "ends_at" TIMESTAMPTZ(3) NOT NULL,
    "gpu_seconds" BIGINT NOT NULL,
    "basis" VARCHAR(16) NOT NULL,
    "unit_price" BIGINT NOT NULL,
    "amount" BIGINT NOT NULL,

    CONSTRAINT "invoice_lines_pkey" PRIMARY KEY ("invoice_id","index")
);

-- CreateIndex
CREATE UNIQUE INDEX "invoices_number_key" ON "invoices"("number");

-- CreateIndex
CREATE UNIQUE INDEX "invoices_lease_id_key" ON "invoices"("lease_id");

-- CreateIndex
CREATE INDEX "invoices_buyer_organisation_id_issued_at_idx" ON "invoices"("buyer_organisation_id", "issued_at");

-- CreateIndex
CREATE UNIQUE INDEX "invoices_issuer_year_sequence_key" ON "invoices"("issuer", "year", "sequence");

-- AddForeignKey
ALTER TABLE "billing_profiles" ADD CONSTRAINT "billing_profiles_organisation_id_fkey" FOREIGN KEY ("organisation_id") REFERENCES "organisations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_buyer_organisation_id_fkey" FOREIGN KEY ("buyer_organisation_id") REFERENCES "organisations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invoice_lines" ADD CONSTRAINT "invoice_lines_invoice_id_fkey" FOREIGN KEY ("invoice_id") REFERENCES "invoices"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- An issued invoice is final: no UPDATE, DELETE or TRUNCATE of invoices or their lines (a
-- correction would be a credit note, a new document). Amounts are checked at insert.
CREATE FUNCTION "invoices_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%: an issued invoice is final', TG_TABLE_NAME USING ERRCODE = 'check_violation';
END $$;

CREATE TRIGGER "invoices_immutable" BEFORE UPDATE OR DELETE ON "invoices"
  FOR EACH ROW EXECUTE FUNCTION "invoices_immutable"();
CREATE TRIGGER "invoices_no_truncate" BEFORE TRUNCATE ON "invoices"
  FOR EACH STATEMENT EXECUTE FUNCTION "invoices_immutable"();
CREATE TRIGGER "invoice_lines_immutable" BEFORE UPDATE OR DELETE ON "invoice_lines"
  FOR EACH ROW EXECUTE FUNCTION "invoices_immutable"();
CREATE TRIGGER "invoice_lines_no_truncate" BEFORE TRUNCATE ON "invoice_lines"
  FOR EACH STATEMENT EXECUTE FUNCTION "invoices_immutable"();

CREATE FUNCTION "invoices_check_amounts"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."net" < 0 OR NEW."vat" < 0 OR NEW."gross" <> NEW."net" + NEW."vat"
     OR NEW."vat_rate_bps" < 0 OR NEW."vat_rate_bps" > 10000 OR NEW."sequence" < 1 THEN
    RAISE EXCEPTION 'invoices: amounts out of range' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "invoices_check_amounts" BEFORE INSERT ON "invoices"
  FOR EACH ROW EXECUTE FUNCTION "invoices_check_amounts"();
