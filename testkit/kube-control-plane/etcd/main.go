// Command etcd is the storage behind the test control plane's kube-apiserver.
//
// etcd's own main package lives in a module whose go.mod replaces its sibling modules with local
// paths, so it cannot be built from the module proxy; this is the same entry point, built against
// the etcd server release that the pinned Kubernetes release itself depends on.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
