# The tinyforge sidecar: a static binary FROM scratch, running as an
# unprivileged numeric user. Build with network access:
#
#   docker build -t ghcr.io/tinyforge/tinyforge:latest \
#     --build-arg VERSION=$(git describe --tags --always) --build-arg COMMIT=$(git rev-parse HEAD) .
#
# Without network (no base image can be pulled), `make image` builds the
# same final stage from the locally built binary with Dockerfile.local.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags="-s -w -X github.com/tinyforge/tinyforge/internal/buildinfo.Version=${VERSION} -X github.com/tinyforge/tinyforge/internal/buildinfo.Commit=${COMMIT}" \
    -o /out/tinyforge ./cmd/tinyforge

FROM scratch
# CA roots for rediss:// and https admin endpoints; nothing else is in the image.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tinyforge /tinyforge
# No shell, no passwd file: a numeric user. It needs no group at all behind
# a socket proxy (DOCKER_HOST=tcp://socket-proxy:2375); with the socket
# mounted directly, add the socket's group (compose: group_add).
USER 65532:65532
EXPOSE 9080
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["/tinyforge", "health"]
ENTRYPOINT ["/tinyforge"]
CMD ["sidecar"]
