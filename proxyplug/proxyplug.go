// Package proxyplug holds the proxy plugins that switch public routes for
// the deployer (one subpackage per proxy) and the None plugin for people
// who route by other means.
package proxyplug

import (
	"context"

	"github.com/tinyforge/tinyforge/deployer"
)

// None routes nothing: deploys still health-check and swap containers, but
// the switch is left to whatever routes traffic.
type None struct{}

var _ deployer.Proxy = None{}

// Upsert does nothing.
func (None) Upsert(context.Context, deployer.Route) error { return nil }

// Delete does nothing.
func (None) Delete(context.Context, deployer.Route) error { return nil }
