# chama-indexer: the sources bundled by esbuild into dist/ (built here, never committed).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` builds dist/, which needs the sources copied below.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY src ./src
COPY schema ./schema
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY schema ./schema
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# V8 otherwise grows its heap lazily towards gigabytes during a backfill; 256 MB keeps the
# process under 300 MB resident. Under such a limit V8 collects whenever the heap grows 30%
# past what survived the last collection; letting it grow 100% cut the backfill's CPU by a
# quarter (npm run bench measures with the same flags), and starting the old generation's limit
# at 128 MB cut another fifth. The young generation's cap is V8's default (16 MB a semi-space),
# written out: see README.md, "Run long-lived commands". Not in NODE_OPTIONS, which refuses
# some of these flags.
ENTRYPOINT ["node", "--max-old-space-size=256", "--initial-old-space-size=128", "--heap-growing-percent=100", "--max-semi-space-size=16", "bin/chama-indexer.js"]
CMD ["start"]
