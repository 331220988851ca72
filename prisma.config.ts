// Used by the Prisma CLI (generate, validate, format). Migrations are applied by our own
// offline runner (src/infra/database/migrator.ts), compatible with `prisma migrate deploy`.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/compute_exchange',
  },
});
