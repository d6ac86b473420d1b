// Command kube-apiserver is the Kubernetes API server of the pinned release, built here because
// k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces the staging modules).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"

	_ "notebooks-service/tests/kubernetes/cluster/internal/plugins"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
