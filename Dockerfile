# syntax=docker/dockerfile:1
# authstore's container image: a static binary (no cgo) on an empty base,
# running as a numeric non-root user, with the SQLite database in the
# /data volume. For several instances, set AUTHSTORE_DB to a PostgreSQL URL
# (see compose.yaml and docs/deploy.md).
#
#   docker build -t authstore --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) .
#   docker run -p 8080:8080 -v authstore-data:/data authstore
#
# container/image_test.go assembles the same final stage without a daemon
# and checks it against this file: keep the two in step.

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum go.work ./
COPY verify/go.mod verify/go.sum ./verify/
RUN go mod download
COPY . .
# .git is not in the build context (.dockerignore): the version is given as
# build arguments and lands in the labels.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w" -o /out/authstore ./cmd/authstore \
 && mkdir -p /out/data /out/tmp && chmod 1777 /out/tmp

FROM scratch
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="authstore" \
      org.opencontainers.image.description="Authentication service: signup, signin, rotating refresh tokens, JWKS" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /out/authstore /authstore
ENV AUTHSTORE_ADDR=:8080 \
    AUTHSTORE_DB=/data/authstore.db
USER 65532:65532
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/authstore", "healthcheck"]
ENTRYPOINT ["/authstore"]
CMD ["serve"]
