# paragen on a CPU-only server: wasm SIMD backend, no native binaries, no GPU packages.
#   docker build -t paragen .
#   docker run --rm -v "$PWD/runs:/app/runs" paragen train --model vae-mlp --epochs 10
#   docker run --rm -p 8080:8080 -v "$PWD/runs:/app/runs:ro" paragen serve --run runs/<run> --host 0.0.0.0 --workers 2
# Stage 1 compiles the TypeScript (the compiler is a dev dependency).
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY actors ./actors
COPY bench ./bench
RUN npm ci && npm run build

# Stage 2: production dependencies only, plus the compiled output.
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would rebuild, and the compiler is not installed here.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
# Runs are written under /app/runs (mount a volume there); the classifier cache under /app/.cache.
RUN mkdir -p /app/runs /app/.cache && chown -R node:node /app/runs /app/.cache
ENV PARAGEN_CACHE=/app/.cache/paragen
USER node
# `paragen serve` listens on 8080 by default (`--host 0.0.0.0` to be reachable from outside the container).
# Probe /healthz (liveness) and /readyz (readiness) from the orchestrator: a HEALTHCHECK here would
# also judge the `train` and `info` containers, which serve nothing.
EXPOSE 8080
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["info"]
