#!/usr/bin/env bash
# Build Ory Hydra and Kratos from the Go module proxy into a version-keyed cache outside the repo.
#
# Usage: scripts/ory-build.sh [hydra|kratos|all]      (default: all)
# HYDRA_BIN / KRATOS_BIN (a binary you bring, any version) skip that build.
# Binaries land in $TRUSS_ORY_CACHE/<name>-<version>/<name> (default ~/.cache/truss/ory) and are only
# built when missing. `go install` cannot be used: both modules carry `replace` directives pointing at
# nested modules that the proxy zips leave out, so we download the module source, re-point those
# replaces at published modules (see shared notes hydra.md §5, kratos.md §6 + addendum) and `go build`.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../ory/versions.env
. "$HERE/ory/versions.env"
CACHE=${TRUSS_ORY_CACHE:-$HOME/.cache/truss/ory}

say() { printf '[ory-build] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

preflight() {
  command -v go >/dev/null || die "Go is not installed (need Go >= 1.26 for Ory v26). Install it, then re-run."
  command -v gcc >/dev/null || die "gcc is missing; cgo (go-sqlite3) needs it: apt-get install -y gcc"
  export CGO_ENABLED=1 GOFLAGS="-mod=mod -buildvcs=false" GONOSUMDB="github.com/ory" GOTOOLCHAIN=local
  local goproxy; goproxy=$(go env GOPROXY)
  [ "$goproxy" != "off" ] || die "GOPROXY is off; the Go module proxy is needed to fetch Ory's sources."
}

# download MODULE@REV -> prints the read-only module-cache dir
download() {
  local out
  if ! out=$(go mod download -json "$1" 2>&1); then
    die "could not download $1 from the Go module proxy ($(go env GOPROXY)):
$out"
  fi
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["Dir"]) if "Dir" in d else sys.exit(d.get("Error","no Dir"))' <<<"$out"
}

# build NAME VERSION MODULE@VERSION BUILD_TAGS VERSION_VAR ; runs inside a scratch copy of the module
build() (
  local name=$1 version=$2 modrev=$3 tags=$4 versionvar=$5
  local dest="$CACHE/$name-$version/$name"
  local byo="${name^^}_BIN"
  if [ -n "${!byo:-}" ]; then say "using your $name: $byo=${!byo} (nothing to build)"; return 0; fi
  if [ -x "$dest" ]; then say "$name $version already built: $dest"; return 0; fi
  say "building $name $version (cold builds take 5-15 minutes on 2 cores) ..."
  local work; work=$(mktemp -d "${TMPDIR:-/tmp}/truss-ory-$name.XXXX")
  trap 'rm -rf "$work"' EXIT
  local src; src=$(download "$modrev")
  say "source: $src"
  cp -r "$src" "$work/src"; chmod -R u+w "$work/src"; cd "$work/src"
  # v25+ only: the bundled ./oryx is byte-identical to a published ory/x commit (ORYX_REV).
  if [ -n "${ORYX_REV:-}" ]; then
    go mod edit -dropreplace=github.com/ory/x
    go get "github.com/ory/x@$ORYX_REV" >&2
  fi
  if [ "$name" = hydra ]; then
    # Hydra's cmd/ imports the SDK: the published hydra-client-go/v2 covers what it uses.
    go mod edit -dropreplace=github.com/ory/hydra-client-go/v2
  else
    # Kratos's binary does not import client-go: a stub module satisfies the nested replace.
    local cg; cg=$(go mod edit -json | python3 -c 'import json,sys
for r in json.load(sys.stdin).get("Replace") or []:
    if r["Old"]["Path"]=="github.com/ory/client-go": print(r["New"]["Path"])')
    if [ -n "$cg" ] && [ ! -f "$cg/go.mod" ]; then
      mkdir -p "$cg"; printf 'module github.com/ory/client-go\n\ngo 1.18\n' >"$cg/go.mod"
    fi
  fi
  say "compiling $name (tags $tags) ..."
  local t0=$SECONDS
  mkdir -p "$(dirname "$dest")"
  go build -tags "$tags" -trimpath -ldflags "-s -w -X $versionvar=$version" -o "$dest.tmp" . >&2
  mv "$dest.tmp" "$dest"
  say "built $name $version in $((SECONDS - t0))s: $dest"
  "$dest" version >&2 || true
)

preflight
what=${1:-all}
case "$what" in
  hydra|all) build hydra "$HYDRA_VERSION" "$HYDRA_MODULE" "$HYDRA_TAGS" github.com/ory/hydra/v2/driver/config.Version ;;&
  kratos|all) build kratos "$KRATOS_VERSION" "$KRATOS_MODULE" "$KRATOS_TAGS" github.com/ory/kratos/driver/config.Version ;;
  hydra) ;;
  *) die "usage: $0 [hydra|kratos|all]" ;;
esac
