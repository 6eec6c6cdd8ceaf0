# dfm: build the TypeScript once, ship only what runs. Node 24 LTS (Node 20 ended on 2026-04-30;
# .ci/run runs the suite on both).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production PORT=8080 DFM_PIPELINES_DIR=/app/pipelines DFM_DATA_DIR=/var/lib/dfm
# The Git sync runs git (fetches over https and ssh into bare mirrors under DFM_DATA_DIR/git).
RUN apt-get update && apt-get install -y --no-install-recommends git openssh-client ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY drizzle ./drizzle
COPY schema ./schema
COPY pipelines ./pipelines
RUN mkdir -p /var/lib/dfm && chown node:node /var/lib/dfm
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/dfm.js"]
CMD ["serve"]
