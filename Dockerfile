# syntax=docker/dockerfile:1
#
# VaultPilot image: one image, two processes.
#   server: node server/main.ts   (default CMD; HTTP on PORT, 8080)
#   worker: node worker/main.ts   (metrics and /healthz on WORKER_METRICS_PORT, 9464)
#   vaultpilot <command>          (operator CLI: key rotation, AgentVault import)
# Node 24 runs the .ts sources directly (type stripping), so there is no build step: the image is
# the production dependencies plus the sources.

ARG NODE_IMAGE=node:24-bookworm-slim

# --- deps: production dependencies only -----------------------------------------------------------
# devDependencies (embedded-postgres, anvil, typescript, the `node` package, test tools) stay out.
# --ignore-scripts: no production dependency needs an install script, and none gets to run one.
# `npm install` with the lockfile rather than `npm ci`: the lockfile cannot list anvil's binary
# packages for other platforms (the registry we install from lacks them), which `npm ci` refuses;
# `npm install` still installs exactly the locked versions.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# --- runtime ----------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 DATA_DIR=/data
WORKDIR /app

# Sources and dependencies are owned by root and only readable by the app user.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY core ./core
COPY server ./server
COPY worker ./worker
COPY keyproviders ./keyproviders
COPY admin-ui ./admin-ui
COPY scripts ./scripts
COPY cli ./cli
COPY bin ./bin
# The operator CLI: `docker compose exec server vaultpilot keys rewrap --to aws-kms`.
RUN ln -s /app/bin/vaultpilot.ts /usr/local/bin/vaultpilot

# DATA_DIR is the only place the processes may write; mount a volume here if anything must persist.
RUN mkdir -p /data && chown node:node /data
USER node

EXPOSE 8080 9464

# Liveness of the server process (the worker's compose service overrides this with its own port).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["node", "server/main.ts"]
