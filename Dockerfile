# syntax=docker/dockerfile:1
# One image with both binaries: the operator (run with `command: [/usr/local/bin/ticketeer-operator]`
# by the Helm chart) and the bot (the default entrypoint, which the operator's bot Deployments rely
# on because they set only `args`).
#
#   docker build -t ghcr.io/ticketeer/ticketeer:0.1.0 .
#
# Offline: the compile step runs with --network=none; only `cargo fetch` needs the registry. With a
# vendored tree (`cargo vendor` plus its .cargo/config.toml) the fetch step needs no network either.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo fetch --locked
# sqlx's macros read committed offline query data instead of a live database.
ENV SQLX_OFFLINE=true
RUN --network=none \
    --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --offline \
        -p ticketeer-operator --bin ticketeer-operator \
        -p ticketeer-bot --bin ticketeer-bot \
 && install -D -m 0755 -t /out target/release/ticketeer-operator target/release/ticketeer-bot

# Distroless: glibc and CA certificates, no shell or package manager; runs as uid/gid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="ticketeer" \
      org.opencontainers.image.description="Ticketeer: Discord ticket bot and its Kubernetes operator" \
      org.opencontainers.image.source="https://github.com/ticketeer/ticketeer" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/ /usr/local/bin/
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ticketeer-bot"]
