# Builds the Kubernetes control plane the operator tests and `./scripts/demo --kubernetes` run
# against: etcd, kube-apiserver and kube-controller-manager, from the release pinned in
# testkit/kube-control-plane/go.mod. Sourced by scripts/test and scripts/demo.
#
# ensure_kube_control_plane TOOLS_DIR
#   Builds the three binaries into TOOLS_DIR/kube-control-plane-<release>/bin unless a build of
#   the same go.mod, go.sum and sources is already there, and exports TICKETEER_KUBE_BIN_DIR.
#   The first build downloads the modules (about 300 MB into Go's module cache) and compiles for
#   several minutes; later runs reuse the binaries. Needs Go 1.24 or newer.
#   TICKETEER_KUBE_BIN_DIR, when already set, names prebuilt binaries and skips all of this.

ensure_kube_control_plane() {
  local tools_dir="$1"
  local module_dir
  module_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../testkit/kube-control-plane" && pwd)"
  if [ -n "${TICKETEER_KUBE_BIN_DIR:-}" ]; then
    local binary
    for binary in etcd kube-apiserver kube-controller-manager; do
      [ -x "$TICKETEER_KUBE_BIN_DIR/$binary" ] || {
        echo "error: TICKETEER_KUBE_BIN_DIR=$TICKETEER_KUBE_BIN_DIR has no executable $binary" >&2
        echo "  unset it to let this script build the control plane from $module_dir" >&2
        return 1
      }
    done
    echo "control plane binaries from TICKETEER_KUBE_BIN_DIR=$TICKETEER_KUBE_BIN_DIR"
    return 0
  fi

  local release
  release="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3} $1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2}' "$module_dir/go.mod" | head -n 1)"
  [ -n "$release" ] || { echo "error: no k8s.io/kubernetes requirement in $module_dir/go.mod" >&2; return 1; }
  local out="$tools_dir/kube-control-plane-$release"
  # What the binaries are built from; a change to any of it rebuilds them.
  local fingerprint
  fingerprint="$(cat "$module_dir/go.mod" "$module_dir/go.sum" "$module_dir"/etcd/*.go "$module_dir"/tools.go |
    sha256sum | awk '{print $1}')"
  if [ -f "$out/fingerprint" ] && [ "$(cat "$out/fingerprint")" = "$fingerprint" ] &&
    [ -x "$out/bin/etcd" ] && [ -x "$out/bin/kube-apiserver" ] && [ -x "$out/bin/kube-controller-manager" ]; then
    export TICKETEER_KUBE_BIN_DIR="$out/bin"
    echo "Kubernetes $release control plane at $TICKETEER_KUBE_BIN_DIR (cached)"
    return 0
  fi

  command -v go >/dev/null 2>&1 || {
    echo "error: Go is not installed; the operator tests build a real Kubernetes API server with it." >&2
    echo "  Install Go 1.24 or newer (Debian/Ubuntu: apt-get install golang-go, or https://go.dev/dl)," >&2
    echo "  or build etcd, kube-apiserver and kube-controller-manager $release yourself and set TICKETEER_KUBE_BIN_DIR." >&2
    return 1
  }
  local minor="${release#v1.}"
  minor="${minor%%.*}"
  echo "building Kubernetes $release (etcd, kube-apiserver, kube-controller-manager) into $out/bin;"
  echo "the first build downloads the modules and takes several minutes, later runs reuse it"
  local started=$SECONDS
  rm -rf "$out"
  mkdir -p "$out/bin"
  # The version stamps make /version report the release, as Helm's kubeVersion check expects.
  local version_package="k8s.io/component-base/version"
  (
    cd "$module_dir" &&
      GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0 go build -trimpath \
        -ldflags "-s -w -X $version_package.gitVersion=$release -X $version_package.gitMajor=1 -X $version_package.gitMinor=$minor -X $version_package.gitTreeState=clean" \
        -o "$out/bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager ./etcd
  ) || {
    echo "error: building the control plane from $module_dir failed (see above)." >&2
    echo "  It needs the Go module proxy (GOPROXY, default proxy.golang.org) on first use." >&2
    return 1
  }
  echo "$fingerprint" >"$out/fingerprint"
  export TICKETEER_KUBE_BIN_DIR="$out/bin"
  echo "built in $((SECONDS - started)) s"
}
