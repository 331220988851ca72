-- Delivery confirms a serving declaration (docs/INFERENCE.md "Delivery confirms a declaration"):
-- the best three delivered multiples of the reference, and the multiple sizing may trust.
ALTER TABLE "serving_profiles" ADD COLUMN     "confirmed_scale" DOUBLE PRECISION NOT NULL DEFAULT 1,
ADD COLUMN     "delivered_scales" DOUBLE PRECISION[] DEFAULT ARRAY[]::DOUBLE PRECISION[];
