// Package deploystream is the live feed of deploys: a Hub the deployer's
// hooks (Config.OnStep, Config.OnFinished) publish each journaled step and
// each recorded outcome to, fanned out to subscribers without ever
// blocking the deployer (a subscriber that falls behind is dropped), and
// the Server-Sent Events handler behind GET /v1/deploys/stream and the
// status page's live view.
//
// It owns only in-process delivery: no history, no replay (a client that
// reconnects reads what it missed from the deploys API). It imports
// deployer for the types it converts and must not import sidecar, ui,
// client or any adapter.
package deploystream
