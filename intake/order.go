package intake

import (
	"context"
	"time"

	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/redisstore"
)

// admit reports whether entry e may deploy its workload given push order:
// registries do not deliver in order, so a push older than the newest one
// admitted for the workload may not take it back to an older tag (the
// newer tag is returned). The order is kept in Redis, so it holds across
// restarts and between sidecars sharing the Redis. When Redis cannot be
// asked, the entry is admitted: order is a guard against late deliveries,
// and an entry left waiting would block its workload's inbox.
func (box *inbox) admit(ctx context.Context, e redisstore.InboxEntry) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ok, newer, err := box.store.AdmitPush(ctx, e.Workload, e.Pushed, e.Tag)
	if err != nil {
		box.log.Warn().Err(err).Str(logkey.Workload, e.Workload).Str(logkey.Tag, e.Tag).
			Msg("push order not checked: admitting the request")
		return true, ""
	}
	return ok, newer
}
