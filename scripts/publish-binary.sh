#!/usr/bin/env bash
# Publishes the mlinfra binary a pipeline's builds run: builds it for Linux
# x86_64 from this checkout, and uploads it zipped (what a CodePipeline S3
# source action takes) to s3://BUCKET/mlinfra/tools.zip. Prints the SHA-256
# the buildspecs verify (MLINFRA_SHA256); a build never runs a binary that
# does not match it.
#
# Usage: scripts/publish-binary.sh BUCKET   (the bucket must have versioning on)
set -euo pipefail
bucket="${1:?usage: scripts/publish-binary.sh BUCKET}"
cd "$(dirname "$0")/.."
cargo build --release --locked --target x86_64-unknown-linux-gnu
binary=target/x86_64-unknown-linux-gnu/release/mlinfra
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$binary" "$work/mlinfra"
sha="$(sha256sum "$work/mlinfra" | cut -d' ' -f1)"
(cd "$work" && zip -q tools.zip mlinfra)
aws s3 cp "$work/tools.zip" "s3://${bucket}/mlinfra/tools.zip" --metadata "sha256=${sha}"
echo "MLINFRA_SHA256=${sha}"
