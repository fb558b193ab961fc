# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies and compiled output only, as a non-root user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=4000 HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 4000
# Liveness, not readiness: an orchestrator restarts an unhealthy container, and restarting the
# gateway because Redis or Google is down would not help (it reconnects by itself). Load
# balancers should route on /readyz instead.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM starts the graceful shutdown (README "Operations"): allow SHUTDOWN_DELAY +
# SHUTDOWN_TIMEOUT before a SIGKILL (docker stop -t, stop_grace_period, terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
# Run node directly (not `npm start`, which builds): signals reach the process and the image has no compiler.
CMD ["node", "dist/main.js"]
