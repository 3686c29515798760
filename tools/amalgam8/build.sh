#!/usr/bin/env bash
# Build the upstream Amalgam8 v1.1.0 controller and registry from source and lay each one out like
# its image (docker/Dockerfile.controller, docker/Dockerfile.registry), for the loopback tests.
#
#   tools/amalgam8/build.sh [SOURCE] [--patches DIR]
#   tools/amalgam8/build.sh --variant-dir upstream|patched     # print where a variant is laid out
#
# SOURCE is the GOPATH tarball (amalgam8-v1.1.0-src.tar.gz), a GOPATH directory holding
# src/github.com/amalgam8/amalgam8, or a checkout of github.com/amalgam8/amalgam8 at tag v1.1.0.
# Default: ../shared/amalgam8/amalgam8-v1.1.0-src.tar.gz beside the checkout.
# Without --patches the result is the "upstream" variant; with it, DIR/*.patch are applied in name
# order (patch -p1, paths relative to the amalgam8 repository root) and the result is "patched".
# Output: .amalgam8/<variant>/{controller,registry}/ (git-ignored). A variant is rebuilt only when
# the hash of its inputs (source, patches, this script, the Go version) changed.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out_root="$root/.amalgam8"
default_source="$root/../shared/amalgam8/amalgam8-v1.1.0-src.tar.gz"
import_path="github.com/amalgam8/amalgam8"

usage() {
    sed -n '5,14p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit "${1:-2}"
}

how_to_get_source() {
    cat >&2 <<'TXT'
error: no Amalgam8 v1.1.0 source given and none found at ../shared/amalgam8/amalgam8-v1.1.0-src.tar.gz
beside the checkout. Get it one of two ways:
  1. Clone upstream at the release tag and build from that directory:
       git clone --branch v1.1.0 --depth 1 https://github.com/amalgam8/amalgam8 ../amalgam8
       npm run build:amalgam8 -- ../amalgam8
  2. Copy the binaries and their files out of the pinned images (docker create + docker cp):
       amalgam8/a8-controller:1.1.0  /opt/a8controller/{a8controller,rules-schema.json,locales}
       amalgam8/a8-registry:1.1.0    /opt/a8registry/{a8registry,locales}
     into .amalgam8/upstream/controller/ and .amalgam8/upstream/registry/ (same file names).
TXT
    exit 2
}

source_arg=""
patches_dir=""
print_variant=""
while [ "$#" -gt 0 ]; do
    case "$1" in
        --patches) [ "$#" -ge 2 ] || usage; patches_dir=$2; shift 2 ;;
        --variant-dir) [ "$#" -ge 2 ] || usage; print_variant=$2; shift 2 ;;
        -h|--help) usage 0 ;;
        -*) echo "error: unknown option '$1'" >&2; usage ;;
        *) [ -z "$source_arg" ] || usage; source_arg=$1; shift ;;
    esac
done

if [ -n "$print_variant" ]; then
    case "$print_variant" in
        upstream|patched) echo "$out_root/$print_variant"; exit 0 ;;
        *) echo "error: --variant-dir takes 'upstream' or 'patched', not '$print_variant'" >&2; exit 2 ;;
    esac
fi

variant=upstream
patches=()
if [ -n "$patches_dir" ]; then
    [ -d "$patches_dir" ] || { echo "error: --patches '$patches_dir' is not a directory" >&2; exit 2; }
    for p in "$patches_dir"/*.patch; do
        [ -e "$p" ] && patches+=("$(cd "$(dirname "$p")" && pwd)/$(basename "$p")")
    done
    [ "${#patches[@]}" -gt 0 ] || { echo "error: --patches '$patches_dir' holds no *.patch file" >&2; exit 2; }
    variant=patched
fi

if [ -z "$source_arg" ]; then
    [ -f "$default_source" ] || how_to_get_source
    source_arg=$default_source
fi
[ -e "$source_arg" ] || { echo "error: source '$source_arg' does not exist (a .tar.gz or a directory)" >&2; exit 2; }
# Amalgam8 v1.1.0 is GOPATH-mode code whose vendored ugorji codec panics at start-up when built with
# Go 1.20 or newer ("encoding alphabet includes duplicate symbols"): build it with Debian's Go 1.19.
go=${AMALGAM8_GO:-/usr/lib/go/bin/go}
[ -x "$go" ] || { echo "error: Debian's Go not found at $go: install Debian package golang-go (or set AMALGAM8_GO to a Go 1.19 binary)" >&2; exit 2; }
case "$("$go" env GOVERSION)" in
    go1.1[0-9]|go1.1[0-9].*) ;;
    *) echo "error: $go is $("$go" env GOVERSION); Amalgam8 v1.1.0 needs Go 1.19 or older (Debian package golang-go)" >&2; exit 2 ;;
esac

# Where the amalgam8 repository root sits inside a directory source.
repo_in_dir() {
    if [ -d "$1/src/$import_path/cmd/controller" ]; then echo "$1/src/$import_path"
    elif [ -d "$1/cmd/controller" ] && [ -d "$1/cmd/registry" ]; then echo "$1"
    else
        echo "error: '$1' holds neither src/$import_path/cmd/controller (a GOPATH) nor cmd/controller (a checkout of $import_path)" >&2
        exit 2
    fi
}

src_repo=""
if [ -d "$source_arg" ]; then src_repo=$(repo_in_dir "$source_arg"); fi

inputs_hash() {
    {
        if [ -n "$src_repo" ]; then
            (cd "$src_repo" && find . -path ./.git -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
        else
            sha256sum < "$source_arg"
        fi
        for p in ${patches[@]+"${patches[@]}"}; do basename "$p"; sha256sum < "$p"; done
        sha256sum < "$0"
        "$go" version
    } | sha256sum | cut -d' ' -f1
}

dest="$out_root/$variant"
hash=$(inputs_hash)
mkdir -p "$out_root"
# One build per variant at a time: concurrent test runs may ask for the same build.
exec 9>"$out_root/.$variant.lock"
flock -w 600 9 || { echo "error: another build of $variant held the lock for 10 minutes" >&2; exit 1; }
if [ -f "$dest/inputs.sha256" ] && [ "$(cat "$dest/inputs.sha256")" = "$hash" ] \
    && [ -x "$dest/controller/a8controller" ] && [ -x "$dest/registry/a8registry" ]; then
    echo "amalgam8 $variant: up to date in ${dest#"$root"/}"
    exit 0
fi

previous=""
[ -L "$dest" ] && previous="$out_root/$(readlink "$dest")"
staging=""
built=false
work=$(mktemp -d "${TMPDIR:-/tmp}/a8build.XXXXXX")
trap 'rm -rf "$work"; [ "$built" = true ] || [ -z "$staging" ] || rm -rf "$staging"' EXIT

gopath="$work/gopath"
repo="$gopath/src/$import_path"
mkdir -p "$repo"
if [ -n "$src_repo" ]; then
    (cd "$src_repo" && tar --exclude=./.git -cf - .) | tar -xf - -C "$repo"
else
    tar -xzf "$source_arg" -C "$gopath"
    [ -d "$repo/cmd/controller" ] \
        || { echo "error: '$source_arg' is not the GOPATH tarball (no src/$import_path/cmd/controller inside)" >&2; exit 2; }
fi

for p in ${patches[@]+"${patches[@]}"}; do
    echo "amalgam8 $variant: applying $(basename "$p")"
    (cd "$repo" && patch -p1 --batch --forward --quiet < "$p") \
        || { echo "error: patch $p does not apply to the source" >&2; exit 1; }
done

# Laid out beside the variant's link, which is switched at once when the build is complete, so
# that services started meanwhile (other test runs) find either the old or the new build.
staging="$out_root/.$variant-$hash"
rm -rf "$staging"
mkdir -p "$staging/controller" "$staging/registry"
echo "amalgam8 $variant: building (first build on a bare machine takes 2-4 minutes)"
(
    cd "$repo"
    # Static like the images (FROM scratch: no libc to link against).
    export GOPATH="$gopath" GO111MODULE=off GOFLAGS='' CGO_ENABLED=0
    "$go" build -trimpath -ldflags '-s -w' -o "$staging/controller/a8controller" ./cmd/controller
    "$go" build -trimpath -ldflags '-s -w' -o "$staging/registry/a8registry" ./cmd/registry
)
# The files each image copies beside its binary.
cp "$repo/pkg/api/rules-schema.json" "$staging/controller/rules-schema.json"
cp -R "$repo/controller/locales" "$staging/controller/locales"
cp -R "$repo/registry/messages" "$staging/registry/locales"
echo "$hash" > "$staging/inputs.sha256"

[ -L "$dest" ] || rm -rf "$dest"
ln -sfn "$(basename "$staging")" "$out_root/.$variant.link"
mv -T "$out_root/.$variant.link" "$dest"
built=true
# The build before stays: a running service may still restart from it.
for old in "$out_root/.$variant"-*; do
    case "$old" in "$staging" | "$previous") ;; *) rm -rf "$old" ;; esac
done
echo "amalgam8 $variant: built into ${dest#"$root"/}"
