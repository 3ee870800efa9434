package deployer

import "github.com/tinyforge/tinyforge/labels"

// faceOptions copies a face's proxy settings onto its route: it is the one
// place where face labels reach the plugins. A face that names no access
// list takes the plugin's sidecar-wide default (--npm-access-list-id).
func faceOptions(r *Route, f *labels.Face) {
	r.TLS = f.TLS
	r.AccessList = f.AccessList
}
