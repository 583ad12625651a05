#!/bin/sh
# Build stages only (never in a final image): trusts the extra certificate authorities handed to
# the build as the secret "local-ca", a PEM bundle such as a TLS-inspecting proxy's CA in front of
# PyPI or Maven Central. devinfra/images.py passes the builder's own /usr/local/share/ca-certificates.
# Without that secret there is nothing to do. With a JRE installed, Debian's hook adds them to Java's
# trust store as well.
set -eu
bundle=/run/secrets/local-ca
[ -s "$bundle" ] || exit 0
awk '/BEGIN CERTIFICATE/ { n++ } n { print > ("/usr/local/share/ca-certificates/build-local-" n ".crt") }' "$bundle"
update-ca-certificates >/dev/null 2>&1
