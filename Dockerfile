# Compute Exchange: one image for every process.
#
#   docker build -t compute-exchange .
#   docker run --env-file prod.env -p 3000:3000 compute-exchange        # API + workers (dist/main.js)
#   docker run ... compute-exchange node dist/main.api.js                # HTTP only
#   docker run --no-healthcheck ... compute-exchange node dist/main.worker.js   # workers only, no HTTP
#   docker run ... compute-exchange node dist/cli/db.js migrate          # migrations as a one-off job
#
# NODE_ENV=production: API_KEY_PEPPER, JWT_SECRET and DATA_ENCRYPTION_KEY must be set, and the
# PAYMENT_BANK_* and INVOICE_SELLER_* placeholders replaced (see .env.example). Every process creates the database if missing and applies migrations at start
# unless MIGRATE_ON_START=false; concurrent starters serialise on an advisory lock.

ARG NODE_IMAGE=node:22-bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# The root postinstall already runs `prisma generate` with PRISMA_SCHEMA_ENGINE_BINARY=/bin/true;
# setting it for the whole stage also stops @prisma/engines' postinstall downloading a native
# schema engine that nothing uses (migrations run on @prisma/schema-engine-wasm, queries on the
# wasm query compiler through @prisma/adapter-pg). SCARF_ANALYTICS=false: no install telemetry.
ENV PRISMA_SCHEMA_ENGINE_BINARY=/bin/true \
    SCARF_ANALYTICS=false \
    npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false

# Dependencies first so a source-only change reuses this layer. The postinstall generates the
# Prisma client into src/generated from prisma/schema.prisma (prisma.config.ts names it).
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
RUN npm ci

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# dist/generated holds the compiled client; the prisma CLI stays (it is a production dependency).
RUN npm run build \
 && npm prune --omit=dev

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app

# Owned by root and read-only to the app: it writes nothing to its own files at run time.
# prisma/ (schema.prisma + migrations) is read by the migrator at start-up.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/dist ./dist

USER node
EXPOSE 3000

# Liveness of the HTTP processes (slim has no curl). A worker-only container has no HTTP server:
# run it with --no-healthcheck (docker-compose.yml disables it for the worker).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Exec form: node is PID 1 and gets SIGTERM itself; it drains and exits 0 within 10 s.
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
