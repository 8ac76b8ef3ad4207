// Package deploy holds no code: it is where alignsync's deployment files live
// (Dockerfile, docker-compose.yml, Kubernetes manifests under k8s/, Prometheus
// alert rules under prometheus/) and the tests that keep them honest.
//
// Invariant: every file here is checked against the binary it runs: the
// subcommands and environment variables exist in `alignsync <command> --help`,
// listeners bind 0.0.0.0 on the ports that probes and scrapers use, secrets
// come from Secrets or the environment, never from the files themselves.
package deploy
