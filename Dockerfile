# tenantc in a container: a static binary on an empty image, run as a non-root user.
#
#   docker build -t tenantc .
#   docker run --rm -v "$PWD:/repo" -w /repo --user "$(id -u):$(id -g)" tenantc compile --check
#
# Build stage: Alpine's Rust targets musl, which links statically; musl-dev gives the C compiler
# mimalloc needs its headers.
FROM rust:1-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --locked --release && cp target/release/tenantc /tenantc

# An empty image: a dynamically linked binary would not start here, so the release workflow's
# `docker run ... --version` proves it static.
FROM scratch
COPY --from=build /tenantc /usr/local/bin/tenantc
# nobody:nogroup; `docker run --user` picks the owner of a mounted repository instead.
USER 65534:65534
WORKDIR /repo
ENTRYPOINT ["/usr/local/bin/tenantc"]
CMD ["--help"]
