// Package policy holds the limits the sidecar's operator sets with flags
// and no label can widen: which images may be pulled, which host paths may
// be bound into containers, and how much CPU and memory a container may
// get. It is pure (plain values in, decisions and errors out); the deployer
// and the Docker adapter enforce it.
package policy
