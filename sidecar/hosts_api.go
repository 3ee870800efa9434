package sidecar

import (
	"net/http"

	"github.com/tinyforge/tinyforge/internal/httpapi"
)

// listHosts is GET /v1/hosts: which workload owns each host name, and
// which hosts are reserved (deployer.HostTable), so `tinyforge labels
// check --sidecar` can tell before a deploy which faces would be refused.
func (s *Sidecar) listHosts(w http.ResponseWriter, r *http.Request) error {
	table, err := s.engine.HostTable(r.Context())
	if err != nil {
		return httpapi.Errorf(http.StatusServiceUnavailable, err.Error())
	}
	httpapi.WriteJSON(w, http.StatusOK, table)
	return nil
}
