# dispatch-tagger: release binary with its embedded default model on a
# distroless runtime (non-root, no shell).
# Build: docker build -t dispatch-tagger .   (podman: add --format docker to keep the HEALTHCHECK)

FROM docker.io/library/rust:1.95-slim-bookworm AS builder
WORKDIR /src
# Dependency layer: build every crate once against a placeholder crate, so a
# source change rebuilds only dispatch-tagger itself.
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto ./proto
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked --bin dispatch-tagger \
    && rm -rf src
COPY src ./src
COPY models ./models
# The commit the metrics' build info reports (the context holds no .git):
# docker build --build-arg DISPATCH_GIT_SHA="$(git rev-parse --short=12 HEAD)" ...
ARG DISPATCH_GIT_SHA
# COPY keeps the context's mtimes, older than the placeholder's build: touch
# so cargo rebuilds the crate.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin dispatch-tagger \
    && cp target/release/dispatch-tagger /dispatch-tagger

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /dispatch-tagger /usr/local/bin/dispatch-tagger
# distroless "nonroot" is uid/gid 65532; numeric so Kubernetes runAsNonRoot can check it.
USER 65532:65532
# The HEALTHCHECK takes its address from the environment: with TLS, set
# DISPATCH_HEALTHCHECK_ADDR=https://127.0.0.1:50051 and
# DISPATCH_HEALTHCHECK_TLS_CA (and _TLS_CERT/_TLS_KEY for mutual TLS).
ENV DISPATCH_LISTEN=0.0.0.0:50051 \
    DISPATCH_LOG_FORMAT=json \
    DISPATCH_HEALTHCHECK_ADDR=http://127.0.0.1:50051
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/dispatch-tagger", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/dispatch-tagger"]
CMD ["serve"]
