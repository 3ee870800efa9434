// Package ui is the status page under /ui/: server-rendered html/template
// pages with embedded assets and no JavaScript build step. It shows each
// workload (what serves, instances, routes, the last deploys with their
// steps, label problems, orphans) and offers three actions: redeploy a
// tag, roll back to an earlier digest, tear down an orphan. Only the live
// view of a running deploy needs JavaScript (EventSource on the deploy
// stream).
//
// It owns the page's session (an HMAC-signed, expiring cookie derived from
// the API token, never the token itself) and its CSRF tokens (bound to the
// session). What it reads and does comes from a Source the composition
// root (sidecar) implements with the same functions as the management
// API. It must not import sidecar, intake, client or any adapter.
package ui
