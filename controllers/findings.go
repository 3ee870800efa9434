package controllers

import (
	"errors"
	"maps"

	"github.com/tinyforge/tinyforge/labels"
)

// Findings are the label problems of the last refresh by workload, for
// metrics and notifications: which workloads are left out because
// controllers declare them differently, and which because their labels do
// not validate.
type Findings struct {
	// Conflicts lists, per workload, the controllers declaring it
	// differently.
	Conflicts map[string][]string
	// Invalid lists, per workload, its label problems. Problems of a
	// controller's own labels (tinyforge.settings.*, tinyforge.enable) are
	// listed under the controller's container name.
	Invalid map[string][]string
}

// invalid files err, a problem of controller ctrl's labels, under its
// workload (or ctrl for a controller-level label).
func (f Findings) invalid(ctrl string, err error) {
	at := ctrl
	var le *labels.Error
	if errors.As(err, &le) && le.Workload != "" {
		at = le.Workload
	}
	f.Invalid[at] = append(f.Invalid[at], err.Error())
}

// Findings returns the label problems of the last refresh, by workload.
func (c *Watcher) Findings() Findings {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return Findings{Conflicts: maps.Clone(c.findings.Conflicts), Invalid: maps.Clone(c.findings.Invalid)}
}
