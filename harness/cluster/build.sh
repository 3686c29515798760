#!/usr/bin/env bash
# Build the real tools that `npm run test:cluster` drives, from the Go modules in go/ beside this
# script (every version pinned in their go.mod and go.sum), and install the provider plugins where the
# Pulumi CLI looks, so that it never tries to download one.
#
#   harness/cluster/build.sh          # build (or reuse) and link .cluster to the result
#   harness/cluster/build.sh --print  # print where the current inputs are (or would be) built
#
# Output: $A8_CLUSTER_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/a8-control-plane/cluster)/<hash>/
#   bin/          pulumi, pulumi-language-nodejs, etcd, kube-apiserver, kube-controller-manager,
#                 kube-scheduler, kubectl, kubelet-streams (for PATH)
#   providers/    the two provider binaries (kept off PATH: the CLI would prefer them to its plugins)
#   pulumi-home/  a PULUMI_HOME whose plugins/ holds resource-kubernetes and resource-random at the
#                 versions that node_modules/@pulumi/{kubernetes,random} ask for
# <hash> covers the modules, the commands of our own, this script, the Go version and those plugin
# versions: a fresh clone on the same machine reuses the build. .cluster (git-ignored) links to it.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
modules="$(cd "$(dirname "$0")" && pwd)/go"
cache_root=${A8_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/a8-control-plane/cluster}

# The Kubernetes release and the Pulumi CLI version are read from the modules, so each is stated once.
module_version() { # module-dir module-path
    awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$modules/$1/go.mod"
}
pulumi_version=$(module_version pulumi github.com/pulumi/pulumi/pkg/v3)
kubernetes_version=$(module_version kubernetes k8s.io/kubernetes)

plugin_version() { # npm package -> the plugin version its SDK registers resources with
    node -e 'const p = require(process.argv[1]); console.log((p.pulumi && p.pulumi.version) || p.version)' \
        "$root/node_modules/$1/package.json" 2>/dev/null \
        || { echo "error: $1 is not installed: run npm ci first" >&2; exit 2; }
}

command -v go >/dev/null 2>&1 || { echo "error: 'go' not found: the Go toolchain (1.25 or newer) builds the cluster tools" >&2; exit 2; }
kubernetes_plugin=$(plugin_version @pulumi/kubernetes)
random_plugin=$(plugin_version @pulumi/random)

inputs_hash() {
    {
        (cd "$modules" && find . -path ./kubernetes-provider/generated -prune -o -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print0 \
            | LC_ALL=C sort -z | xargs -0 sha256sum)
        sha256sum < "$0"
        go env GOVERSION
        echo "kubernetes=$kubernetes_plugin random=$random_plugin"
    } | sha256sum | cut -d' ' -f1
}
out="$cache_root/$(inputs_hash)"

if [ "${1:-}" = "--print" ]; then echo "$out"; exit 0; fi
[ "$#" -eq 0 ] || { echo "error: unknown argument '$1' (takes none, or --print)" >&2; exit 2; }

link() { ln -sfn "$out" "$root/.cluster"; echo "cluster tools: $out (linked as .cluster)"; }
if [ -f "$out/.complete" ]; then link; exit 0; fi

staging="$out.partial.$$"
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/bin"
export GOFLAGS=-trimpath GOTOOLCHAIN=local
build() { # module-dir ldflags package...
    local dir=$1 ldflags=$2; shift 2
    echo "cluster tools: building $* (a cold build on 2 cores takes minutes)"
    (cd "$modules/$dir" && go build -ldflags "-s -w $ldflags" -o "$staging/bin/" "$@")
}

build pulumi "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
build pulumi "-X main.version=$pulumi_version" ./cmd/pulumi-language-nodejs
build pulumi "-X main.version=$random_plugin" ./cmd/pulumi-resource-random
# The proxy serves the provider only as a pseudo-version: it reports the version it is installed as.
# Its main package embeds schema-embed.json, which upstream's build generates (go:generate) and the
# module archive lacks: generate it the same way in a git-ignored copy of that package.
provider_main=$(cd "$modules/kubernetes-provider" && go list -e -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes)
generated="$modules/kubernetes-provider/generated/pulumi-resource-kubernetes"
rm -rf "$generated" && mkdir -p "$generated"
cp "$provider_main"/*.go "$provider_main"/*.json "$generated/" && chmod -R u+w "$generated"
(cd "$generated" && VERSION=$kubernetes_plugin go run generate.go)
build kubernetes-provider "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$kubernetes_plugin" \
    ./generated/pulumi-resource-kubernetes
rm -rf "$modules/kubernetes-provider/generated"
build etcd "" go.etcd.io/etcd/server/v3
mv "$staging/bin/server" "$staging/bin/etcd"
minor=${kubernetes_version#v1.}
minor=${minor%%.*}
kube_version="-X k8s.io/component-base/version.gitVersion=$kubernetes_version -X k8s.io/component-base/version.gitMajor=1"
kube_version="$kube_version -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
kube_version="$kube_version -X k8s.io/client-go/pkg/version.gitVersion=$kubernetes_version"
build kubernetes "$kube_version" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl ./cmd/kubelet-streams

mkdir -p "$staging/pulumi-home"
for plugin in "kubernetes $kubernetes_plugin" "random $random_plugin"; do
    read -r name version <<< "$plugin"
    mkdir -p "$staging/providers"
    mv "$staging/bin/pulumi-resource-$name" "$staging/providers/"
    PULUMI_HOME="$staging/pulumi-home" PULUMI_SKIP_UPDATE_CHECK=true "$staging/bin/pulumi" plugin install \
        resource "$name" "v$version" --file "$staging/providers/pulumi-resource-$name" --non-interactive >/dev/null
done
touch "$staging/.complete"
rm -rf "$out"
mv "$staging" "$out"
trap - EXIT
link
