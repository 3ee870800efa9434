// Package client holds the commands that talk to a running sidecar over
// HTTP: `tinyforge status`, `deploy`, `rollback`, `deploys` and `logs`
// (management API and deploy stream, with the API token) and `tinyforge
// health` (the image's HEALTHCHECK). They read TINYFORGE_URL and
// TINYFORGE_API_TOKEN (or TINYFORGE_API_TOKEN_FILE) like the sidecar
// (internal/envdefault), print tables for people or JSON with --json, and
// exit with the codes below. It decodes the sidecar's JSON into deployer,
// overview and deploystream types; it must not import sidecar or any
// package that runs the daemon: a client links only what it sends and
// reads.
package client

// Exit codes of the API commands (README, "The command line").
const (
	ExitOK = 0
	// ExitFailed: the sidecar could not be reached, or refused or failed
	// the request (the message says which).
	ExitFailed = 1
	// ExitUsage: the command line is wrong (unknown flag, missing
	// workload, unreadable token file).
	ExitUsage = 2
	// ExitDeployFailed: deploy --wait saw the deploy end without serving
	// what was asked (failed, rolled back), or stop waiting at --timeout.
	ExitDeployFailed = 3
)
