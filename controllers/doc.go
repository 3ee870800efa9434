// Package controllers owns the set of declared workloads: it watches the
// Docker controller containers (those labelled tinyforge.enable=true in
// this sidecar's scope), and on a swarm the controller services (a stack's
// deploy.labels), decodes their tinyforge.* labels into workloads,
// reports label problems and conflicts, and tells its owner which
// workloads changed. It also holds the orphan rules: which workloads still
// have managed containers but no declaration, and since when.
//
// It decides nothing about deploys and runs none: the composition root
// (sidecar) turns its changes into converge requests. It must not import
// sidecar, intake or any package above them.
package controllers
