package ui

import (
	"net/http"
	"strings"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// deploy asks for a workload to run a tag, through the deploy API's path.
func (u *UI) deploy(w http.ResponseWriter, r *http.Request, _ session) {
	name, tag := r.PostFormValue("workload"), strings.TrimSpace(r.PostFormValue("tag"))
	msg, err := u.cfg.Source.Deploy(r.Context(), name, tag)
	u.finish(w, r, "deploy", name, msg, err)
}

// rollback asks for a workload to go back to the chosen digest.
func (u *UI) rollback(w http.ResponseWriter, r *http.Request, _ session) {
	name, to := r.PostFormValue("workload"), r.PostFormValue("to")
	msg, err := u.cfg.Source.Rollback(r.Context(), name, to)
	u.finish(w, r, "rollback", name, msg, err)
}

// teardown removes an orphan once the person confirmed it on the
// confirmation page (the form says so).
func (u *UI) teardown(w http.ResponseWriter, r *http.Request, _ session) {
	name := r.PostFormValue("workload")
	if r.PostFormValue("confirm") != name {
		u.done(w, r, "teardown of "+name+" not confirmed: type the workload's name to confirm", false)
		return
	}
	msg, err := u.cfg.Source.Teardown(r.Context(), name)
	u.finish(w, r, "teardown", name, msg, err)
}

// approve deploys the delivery pending approval; reject drops it.
func (u *UI) approve(w http.ResponseWriter, r *http.Request, _ session) {
	name := r.PostFormValue("workload")
	msg, err := u.cfg.Source.Approve(r.Context(), name)
	u.finish(w, r, "approve", name, msg, err)
}

func (u *UI) reject(w http.ResponseWriter, r *http.Request, _ session) {
	name := r.PostFormValue("workload")
	msg, err := u.cfg.Source.Reject(r.Context(), name)
	u.finish(w, r, "reject", name, msg, err)
}

// finish logs an action and carries its result to the page.
func (u *UI) finish(w http.ResponseWriter, r *http.Request, what, workload, msg string, err error) {
	if err != nil {
		u.cfg.Log.Warn().Err(err).Str(logkey.Action, what).Str(logkey.Workload, workload).Msg("status page action refused")
		u.done(w, r, what+" of "+workload+" refused: "+err.Error(), false)
		return
	}
	u.cfg.Log.Info().Str(logkey.Action, what).Str(logkey.Workload, workload).Str("result", msg).Msg("status page action")
	u.done(w, r, msg, true)
}
