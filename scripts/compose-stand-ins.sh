#!/usr/bin/env bash
# Builds the base images docker-compose.yml and the Dockerfile name, for an engine that can
# reach no image registry (this project's CI machines reach only apt, PyPI and npm). Each is a
# stand-in with the official image's contract, built from Debian's packages:
#   localhost/flyte-batch-stand-in/debian:bookworm  mmdebstrap --variant=minbase, imported
#   python:3.11-slim                                compose-stand-ins/python.Containerfile
#   postgres:16-bookworm                            compose-stand-ins/postgres.Containerfile
# They carry the official names so the Dockerfile's FROM line and the compose file stay as
# they are; that naming is the only substitution. With a real Docker engine none of this runs
# and the real images are pulled. An image is rebuilt only when the files that define it
# change (their digest is its label), so repeated runs reuse it.
# Runs podman as configured by the caller (scripts/compose-engine.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
definitions="$here/compose-stand-ins"
digest=$(cat "$0" "$definitions"/* | sha256sum | cut -c1-16)
label=org.flyte-batch.stand-in

up_to_date() {
  [ "$(podman image inspect --format "{{ index .Labels \"$label\" }}" "$1" 2>/dev/null)" = "$digest" ]
}

base=localhost/flyte-batch-stand-in/debian:bookworm
if ! up_to_date "$base"; then
  echo "stand-in images: building $base with mmdebstrap (about 30 s)" >&2
  # The same trims as Docker's debian:bookworm-slim: no manuals, docs or translations.
  mmdebstrap --variant=minbase --include=passwd,ca-certificates --quiet \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    bookworm - \
    | podman import --quiet --change "LABEL $label=$digest" --change 'CMD ["bash"]' - "$base" >/dev/null
fi

for image in python:3.11-slim postgres:16-bookworm; do
  name=docker.io/library/$image
  if ! up_to_date "$name"; then
    echo "stand-in images: building $name" >&2
    podman build --quiet --label "$label=$digest" --tag "$name" \
      --file "$definitions/${image%%:*}.Containerfile" "$definitions" >/dev/null
  fi
done
