// Command gen prints alignsync's Grafana dashboard:
//
//	go run ./dashboards/gen > dashboards/alignsync.json
package main

import (
	"fmt"
	"os"

	"github.com/illumera/alignsync/dashboards"
)

func main() {
	out, err := dashboards.JSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if _, err := os.Stdout.Write(out); err != nil {
		fmt.Fprintln(os.Stderr, "gen: writing the dashboard:", err)
		os.Exit(1)
	}
}
