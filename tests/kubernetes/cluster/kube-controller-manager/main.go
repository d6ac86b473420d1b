// Command kube-controller-manager runs the controllers of the pinned release (garbage collector,
// namespace lifecycle, service-account tokens...) against the test cluster's API server.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"

	_ "notebooks-service/tests/kubernetes/cluster/internal/plugins"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
