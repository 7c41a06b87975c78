# The enclave image: one static binary, CA certificates, a non-root user and a writable
# /data, on an empty base. No shell, no package manager, no libc: nothing a compromised
# process could use beyond enclave itself.
#
# Build it with scripts/image.sh (or `make image`), not with `docker build .` on the
# repository: the build context is a directory the script prepares (the binary built by the
# host's Go with CGO_ENABLED=0 -trimpath, the host's CA bundle, passwd and group). Why no
# `FROM golang` build stage: here no registry is reachable, so no base image can be pulled;
# the host's Go toolchain is the build stage, and `FROM scratch` needs no pull. The result
# is the same static binary a golang stage would build.
FROM scratch

ARG VERSION=dev
LABEL org.opencontainers.image.title="enclave" \
      org.opencontainers.image.description="GA4GH WES server for secure processing environments" \
      org.opencontainers.image.source="https://github.com/spe4hd/enclave" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"

COPY etc/ /etc/
COPY --chown=65532:65532 data/ /data/
COPY --chown=65532:65532 tmp/ /tmp/
COPY enclave /usr/local/bin/enclave

# A container listens on every interface (the orchestrator decides what reaches it), so
# enclave refuses to start unless auth is configured: auth.oidc, or auth.mode none written
# out (ENCLAVE_AUTH_MODE=none) on purpose.
ENV ENCLAVE_SERVER_ADDR=0.0.0.0:8080 \
    ENCLAVE_DATA_DIR=/data \
    HOME=/tmp \
    TMPDIR=/tmp \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt

USER 65532:65532
WORKDIR /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/enclave"]
CMD ["server"]
