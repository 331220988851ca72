-- CreateEnum
CREATE TYPE "OrganisationRole" AS ENUM ('PROVIDER', 'BUYER');

-- CreateEnum
CREATE TYPE "OrganisationStatus" AS ENUM ('PENDING_VERIFICATION', 'VERIFIED', 'SUSPENDED');

-- CreateEnum
CREATE TYPE "UserRole" AS ENUM ('OWNER', 'MEMBER');

-- CreateEnum
CREATE TYPE "MarketStatus" AS ENUM ('ACTIVE', 'PAUSED');

-- CreateTable
CREATE TABLE "organisations" (
    "id" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "role" "OrganisationRole" NOT NULL,
    "status" "OrganisationStatus" NOT NULL DEFAULT 'PENDING_VERIFICATION',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "verified_at" TIMESTAMPTZ(3),
    "suspended_at" TIMESTAMPTZ(3),

    CONSTRAINT "organisations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "users" (
    "id" UUID NOT NULL,
    "organisation_id" UUID,
    "email" VARCHAR(320) NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" "UserRole" NOT NULL DEFAULT 'MEMBER',
    "is_platform_admin" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "disabled_at" TIMESTAMPTZ(3),

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "organisation_id" UUID NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "prefix" VARCHAR(32) NOT NULL,
    "secret_hash" BYTEA NOT NULL,
    "last_four" CHAR(4) NOT NULL,
    "scopes" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "markets" (
    "id" UUID NOT NULL,
    "slug" VARCHAR(64) NOT NULL,
    "vendor" VARCHAR(64) NOT NULL,
    "model" VARCHAR(64) NOT NULL,
    "memory_gb" INTEGER NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "currency_scale" INTEGER NOT NULL,
    "fee_bps" INTEGER NOT NULL,
    "status" "MarketStatus" NOT NULL DEFAULT 'ACTIVE',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "markets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "provinces" (
    "code" CHAR(6) NOT NULL,
    "name_zh" VARCHAR(32) NOT NULL,
    "name_pinyin" VARCHAR(64) NOT NULL,

    CONSTRAINT "provinces_pkey" PRIMARY KEY ("code")
);

-- CreateTable
CREATE TABLE "cities" (
    "code" CHAR(6) NOT NULL,
    "province_code" CHAR(6) NOT NULL,
    "name_zh" VARCHAR(32) NOT NULL,
    "name_pinyin" VARCHAR(64) NOT NULL,

    CONSTRAINT "cities_pkey" PRIMARY KEY ("code")
);

-- CreateTable
CREATE TABLE "outbox_events" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "type" VARCHAR(64) NOT NULL,
    "aggregate_type" VARCHAR(32) NOT NULL,
    "aggregate_id" VARCHAR(64) NOT NULL,
    "payload" JSONB NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "published_at" TIMESTAMPTZ(3),
    "publish_count" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "inbox_events" (
    "consumer" VARCHAR(64) NOT NULL,
    "event_id" UUID NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "inbox_events_pkey" PRIMARY KEY ("consumer","event_id")
);

-- CreateTable
CREATE TABLE "app_secrets" (
    "name" VARCHAR(64) NOT NULL,
    "value" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "app_secrets_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE INDEX "organisations_role_status_idx" ON "organisations"("role", "status");

-- CreateIndex
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");

-- CreateIndex
CREATE INDEX "users_organisation_id_idx" ON "users"("organisation_id");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_prefix_key" ON "api_keys"("prefix");

-- CreateIndex
CREATE INDEX "api_keys_organisation_id_idx" ON "api_keys"("organisation_id");

-- CreateIndex
CREATE UNIQUE INDEX "markets_slug_key" ON "markets"("slug");

-- CreateIndex
CREATE INDEX "cities_province_code_idx" ON "cities"("province_code");

-- CreateIndex
CREATE UNIQUE INDEX "outbox_events_seq_key" ON "outbox_events"("seq");

-- CreateIndex
CREATE INDEX "outbox_events_published_at_seq_idx" ON "outbox_events"("published_at", "seq");

-- CreateIndex
CREATE INDEX "outbox_events_aggregate_type_aggregate_id_idx" ON "outbox_events"("aggregate_type", "aggregate_id");

-- CreateIndex
CREATE INDEX "inbox_events_processed_at_idx" ON "inbox_events"("processed_at");

-- AddForeignKey
ALTER TABLE "users" ADD CONSTRAINT "users_organisation_id_fkey" FOREIGN KEY ("organisation_id") REFERENCES "organisations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_organisation_id_fkey" FOREIGN KEY ("organisation_id") REFERENCES "organisations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cities" ADD CONSTRAINT "cities_province_code_fkey" FOREIGN KEY ("province_code") REFERENCES "provinces"("code") ON DELETE RESTRICT ON UPDATE CASCADE;

-- ---------------------------------------------------------------------------------------------
-- Written by hand below: objects Prisma's schema cannot express, and reference data.
-- ---------------------------------------------------------------------------------------------

-- Outbox relay wake-up: the relay LISTENs on channel "outbox_events" and reads the table itself,
-- so one empty notification per inserting statement is enough (delivered at commit).
CREATE FUNCTION "notify_outbox_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox_events', '');
  RETURN NULL;
END;
$$;

CREATE TRIGGER "outbox_events_notify"
  AFTER INSERT ON "outbox_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "notify_outbox_events"();

-- Markets (compute classes). Literal ids (UUIDv7 at the migration's timestamp) keep every
-- database built from this migration identical.
INSERT INTO "markets" ("id", "slug", "vendor", "model", "memory_gb", "currency", "currency_scale", "fee_bps", "status") VALUES
  ('01a21f73-9c00-7000-8000-000000000001', 'nvidia-h100-80gb',        'NVIDIA', 'H100',        80, 'CNY', 2, 300, 'ACTIVE'),
  ('01a21f73-9c00-7000-8000-000000000002', 'nvidia-h800-80gb',        'NVIDIA', 'H800',        80, 'CNY', 2, 300, 'ACTIVE'),
  ('01a21f73-9c00-7000-8000-000000000003', 'nvidia-h20-96gb',         'NVIDIA', 'H20',         96, 'CNY', 2, 300, 'ACTIVE'),
  ('01a21f73-9c00-7000-8000-000000000004', 'nvidia-a100-80gb',        'NVIDIA', 'A100',        80, 'CNY', 2, 300, 'ACTIVE'),
  ('01a21f73-9c00-7000-8000-000000000005', 'nvidia-a800-80gb',        'NVIDIA', 'A800',        80, 'CNY', 2, 300, 'ACTIVE'),
  ('01a21f73-9c00-7000-8000-000000000006', 'nvidia-l40s-48gb',        'NVIDIA', 'L40S',        48, 'CNY', 2, 300, 'ACTIVE'),
  ('01a21f73-9c00-7000-8000-000000000007', 'nvidia-rtx-4090-24gb',    'NVIDIA', 'RTX 4090',    24, 'CNY', 2, 300, 'ACTIVE'),
  ('01a21f73-9c00-7000-8000-000000000008', 'huawei-ascend-910b-64gb', 'Huawei', 'Ascend 910B', 64, 'CNY', 2, 300, 'ACTIVE');

-- The 31 province-level divisions of mainland China (GB/T 2260).
INSERT INTO "provinces" ("code", "name_zh", "name_pinyin") VALUES
  ('110000', '北京市', 'Beijing'),
  ('120000', '天津市', 'Tianjin'),
  ('130000', '河北省', 'Hebei'),
  ('140000', '山西省', 'Shanxi'),
  ('150000', '内蒙古自治区', 'Nei Mongol'),
  ('210000', '辽宁省', 'Liaoning'),
  ('220000', '吉林省', 'Jilin'),
  ('230000', '黑龙江省', 'Heilongjiang'),
  ('310000', '上海市', 'Shanghai'),
  ('320000', '江苏省', 'Jiangsu'),
  ('330000', '浙江省', 'Zhejiang'),
  ('340000', '安徽省', 'Anhui'),
  ('350000', '福建省', 'Fujian'),
  ('360000', '江西省', 'Jiangxi'),
  ('370000', '山东省', 'Shandong'),
  ('410000', '河南省', 'Henan'),
  ('420000', '湖北省', 'Hubei'),
  ('430000', '湖南省', 'Hunan'),
  ('440000', '广东省', 'Guangdong'),
  ('450000', '广西壮族自治区', 'Guangxi'),
  ('460000', '海南省', 'Hainan'),
  ('500000', '重庆市', 'Chongqing'),
  ('510000', '四川省', 'Sichuan'),
  ('520000', '贵州省', 'Guizhou'),
  ('530000', '云南省', 'Yunnan'),
  ('540000', '西藏自治区', 'Xizang'),
  ('610000', '陕西省', 'Shaanxi'),
  ('620000', '甘肃省', 'Gansu'),
  ('630000', '青海省', 'Qinghai'),
  ('640000', '宁夏回族自治区', 'Ningxia'),
  ('650000', '新疆维吾尔自治区', 'Xinjiang');

-- Prefecture-level cities (GB/T 2260): every provincial capital (a municipality as its xx0100
-- code under its own name) and the cities of the national computing hubs.
INSERT INTO "cities" ("code", "province_code", "name_zh", "name_pinyin") VALUES
  ('110100', '110000', '北京市', 'Beijing'),
  ('120100', '120000', '天津市', 'Tianjin'),
  ('130100', '130000', '石家庄市', 'Shijiazhuang'),
  ('130700', '130000', '张家口市', 'Zhangjiakou'),
  ('131000', '130000', '廊坊市', 'Langfang'),
  ('140100', '140000', '太原市', 'Taiyuan'),
  ('140200', '140000', '大同市', 'Datong'),
  ('150100', '150000', '呼和浩特市', 'Hohhot'),
  ('150200', '150000', '包头市', 'Baotou'),
  ('150900', '150000', '乌兰察布市', 'Ulanqab'),
  ('210100', '210000', '沈阳市', 'Shenyang'),
  ('210200', '210000', '大连市', 'Dalian'),
  ('220100', '220000', '长春市', 'Changchun'),
  ('230100', '230000', '哈尔滨市', 'Harbin'),
  ('310100', '310000', '上海市', 'Shanghai'),
  ('320100', '320000', '南京市', 'Nanjing'),
  ('320200', '320000', '无锡市', 'Wuxi'),
  ('320500', '320000', '苏州市', 'Suzhou'),
  ('330100', '330000', '杭州市', 'Hangzhou'),
  ('330200', '330000', '宁波市', 'Ningbo'),
  ('340100', '340000', '合肥市', 'Hefei'),
  ('340200', '340000', '芜湖市', 'Wuhu'),
  ('350100', '350000', '福州市', 'Fuzhou'),
  ('350200', '350000', '厦门市', 'Xiamen'),
  ('360100', '360000', '南昌市', 'Nanchang'),
  ('370100', '370000', '济南市', 'Jinan'),
  ('370200', '370000', '青岛市', 'Qingdao'),
  ('410100', '410000', '郑州市', 'Zhengzhou'),
  ('420100', '420000', '武汉市', 'Wuhan'),
  ('430100', '430000', '长沙市', 'Changsha'),
  ('440100', '440000', '广州市', 'Guangzhou'),
  ('440200', '440000', '韶关市', 'Shaoguan'),
  ('440300', '440000', '深圳市', 'Shenzhen'),
  ('450100', '450000', '南宁市', 'Nanning'),
  ('460100', '460000', '海口市', 'Haikou'),
  ('500100', '500000', '重庆市', 'Chongqing'),
  ('510100', '510000', '成都市', 'Chengdu'),
  ('520100', '520000', '贵阳市', 'Guiyang'),
  ('530100', '530000', '昆明市', 'Kunming'),
  ('540100', '540000', '拉萨市', 'Lhasa'),
  ('610100', '610000', '西安市', 'Xi''an'),
  ('620100', '620000', '兰州市', 'Lanzhou'),
  ('621000', '620000', '庆阳市', 'Qingyang'),
  ('630100', '630000', '西宁市', 'Xining'),
  ('640100', '640000', '银川市', 'Yinchuan'),
  ('640500', '640000', '中卫市', 'Zhongwei'),
  ('650100', '650000', '乌鲁木齐市', 'Urumqi'),
  ('650200', '650000', '克拉玛依市', 'Karamay');
