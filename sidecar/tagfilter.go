package sidecar

import "github.com/tinyforge/tinyforge/labels"

// tagAllowed decides whether a pushed tag may deploy the workload: the
// workload's tags filter. It is the one hook point for that filter
// (labels.Workload.AllowsTag, which lands separately); until then every
// tag is allowed. Replace the body with `return w.AllowsTag(tag)`.
var tagAllowed = func(w *labels.Workload, tag string) bool { return true }
