// Package plugins registers what both control-plane commands load at start, as the release's own
// main packages do: time zones for CronJobs, the JSON log format, and the client-go and version metrics.
package plugins

import (
	_ "time/tzdata"

	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
)
