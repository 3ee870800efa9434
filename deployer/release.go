package deployer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// ReleaseOutputMax is how much of a release command's output a deploy's
// history keeps: its last 4 KiB.
const ReleaseOutputMax = 4 << 10

// errReleaseTimeout ends the wait for a release command at release.timeout.
var errReleaseTimeout = errors.New("release command timed out")

// ReleaseName is the name of the one-off container of deploy's release
// command, so `docker ps` tells what it is.
func ReleaseName(workload, deploy string) string {
	return "tf-" + sanitise(workload) + "-release-" + sanitise(deploy)
}

// release runs the workload's release command, when it has one, in a
// one-off container of the new image, before any container of the new
// version exists: on the workload's network, with its env (release.env
// over it, the stored overrides on top), volumes, entrypoint and limits,
// never restarted. It must exit 0 within release.timeout, else the deploy
// fails here and the old version keeps serving. The container is removed
// whatever happens; the journal holds its id from StepReleasing on, and
// its labels name the deploy, so a recovery removes it after a crash.
func (d *deploy) release(ctx context.Context) error {
	if !d.w.HasRelease() {
		return nil
	}
	name := ReleaseName(d.w.Name, d.id)
	spec, secret, err := d.releaseSpec(ctx, name)
	if err != nil {
		return err
	}
	d.sign(name, spec.Labels) // else the stray sweep, which sees only signed containers, could never remove it
	run := &ReleaseRun{Container: name, Exit: -1}
	d.releaseRun = run
	d.created = true // even a failed create may leave a container: settle removes it by its deploy label
	id, err := d.Docker.Create(ctx, spec)
	if err != nil {
		run.Error = err.Error()
		return fmt.Errorf("%w: create %s: %w", ErrReleaseFailed, name, err)
	}
	d.j.Release = id
	started := time.Now()
	err = d.Docker.Start(ctx, id)
	if err == nil {
		err = d.step(ctx, StepReleasing, Writes{})
	}
	if err == nil {
		run.Exit, err = d.waitRelease(ctx, id, name)
	}
	run.Took = time.Since(started).Round(time.Millisecond)
	if err != nil {
		run.Error = strings.TrimPrefix(err.Error(), ErrReleaseFailed.Error()+": ")
	}
	run.Output = d.releaseOutput(ctx, id, secret)
	if rmErr := d.removeRelease(ctx, id); rmErr != nil && err == nil {
		err = rmErr
	}
	d.log.Info().Str(logkey.Container, name).Int("exit", run.Exit).Dur(logkey.Took, run.Took).AnErr("error", err).Msg("release command ran")
	if err != nil {
		return err
	}
	return d.step(ctx, StepReleased, Writes{})
}

// releaseSpec is the one-off container of the release command: the new
// container's spec with the release env and command, no port, and the
// release marker among the managed labels.
func (d *deploy) releaseSpec(ctx context.Context, name string) (ContainerSpec, []string, error) {
	cmd, err := d.w.Release.Command.Split()
	if err != nil {
		return ContainerSpec{}, nil, fmt.Errorf("release command of %s: %w", d.w.Name, err)
	}
	spec, secret, err := d.specWithEnv(ctx, name, d.w.ReleaseEnv())
	if err != nil {
		return ContainerSpec{}, nil, err
	}
	spec.Cmd, spec.Port, spec.OneOff = cmd, 0, true
	spec.Labels = withLabels(d.Labels, d.managed(d.w.Name))
	maps.Copy(spec.Labels, map[string]string{
		labels.ManagedRelease: "true",
		labels.ManagedDeploy:  d.id,
		labels.ManagedImage:   d.ref,
		labels.ManagedNetwork: d.network,
	})
	return spec, secret, nil
}

// waitRelease waits for the release container to exit, at most
// release.timeout, and returns its exit code; anything but 0 is an error.
func (d *deploy) waitRelease(ctx context.Context, id, name string) (int, error) {
	wctx, cancel := context.WithTimeoutCause(ctx, d.w.ReleaseWait(), errReleaseTimeout)
	defer cancel()
	code, err := d.Docker.Wait(wctx, id)
	switch {
	case err != nil && ctx.Err() == nil && errors.Is(context.Cause(wctx), errReleaseTimeout):
		return -1, fmt.Errorf("%w: %s still running after release.timeout %s", ErrReleaseFailed, name, d.w.ReleaseWait())
	case err != nil:
		return -1, fmt.Errorf("%w: wait for %s: %w", ErrReleaseFailed, name, err)
	case code != 0:
		return code, fmt.Errorf("%w: %s exited %d", ErrReleaseFailed, name, code)
	}
	return 0, nil
}

// releaseOutput is the end of what the release container wrote, with the
// values of the secret env overrides masked. It is read even when the
// deploy was cancelled: the history keeps it.
func (d *deploy) releaseOutput(ctx context.Context, id string, secret []string) string {
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	out, err := d.Docker.Output(octx, id, ReleaseOutputMax)
	if err != nil {
		d.log.Warn().Err(err).Msg("read the release command's output")
	}
	return maskSecrets(out, secret)
}

// removeRelease removes the release container, even when ctx was
// cancelled, and takes it out of the journal once it is gone.
func (d *deploy) removeRelease(ctx context.Context, id string) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := d.Docker.Remove(rctx, id); err != nil {
		return fmt.Errorf("remove release container: %w", err)
	}
	d.j.Release = ""
	return nil
}

// minSecret is the shortest secret value masked: masking shorter ones
// (a "1", a "true") would garble the output and hide nothing.
const minSecret = 4

// maskSecrets replaces every occurrence of a secret value in s.
func maskSecrets(s string, secret []string) string {
	for _, v := range secret {
		if len(v) >= minSecret {
			s = strings.ReplaceAll(s, v, "[secret]")
		}
	}
	return s
}

// removeReleases removes the release containers of the interrupted deploy
// j: the journaled one and any its deploy label names (a crash between
// create and journal leaves only the label). Only a deploy that stopped
// at or before StepReleasing can have left one. It returns how many it
// removed.
func (e *Engine) removeReleases(ctx context.Context, l Lease, j Journal) (int, error) {
	if j.Release == "" && stepOrder[j.Step] > stepOrder[StepReleasing] {
		return 0, nil
	}
	f := e.managed(j.Workload)
	f[labels.ManagedRelease], f[labels.ManagedDeploy] = "true", j.ID
	cs, err := e.Docker.List(ctx, f)
	if err != nil {
		return 0, fmt.Errorf("list release containers of deploy %s: %w", j.ID, err)
	}
	ids := map[string]bool{}
	for _, c := range cs {
		ids[c.ID] = true
	}
	if j.Release != "" {
		ids[j.Release] = true // gone from Docker already: removing it again is harmless
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if err := e.Coord.Commit(ctx, l, Writes{}); err != nil {
		return 0, err
	}
	for id := range ids {
		if err := e.Docker.Remove(ctx, id); err != nil {
			return 0, fmt.Errorf("remove release container %s: %w", id, err)
		}
	}
	e.Log.Info().Str(logkey.Workload, j.Workload).Str(logkey.Deploy, j.ID).Int("removed", len(cs)).Msg("release container of an interrupted deploy removed")
	return len(cs), nil
}

// StrayReleases picks, from containers, the release containers whose
// deploy has no open journal: their deploy ended without removing them
// (Docker refused the removal), and nothing else will. A running deploy's
// journal is open from its lock on, before its release container exists.
func StrayReleases(containers []Container, journals []Journal) []Container {
	open := map[string]bool{}
	for _, j := range journals {
		open[j.ID] = true
	}
	var out []Container
	for _, c := range containers {
		if isRelease(c) && !open[c.Labels[labels.ManagedDeploy]] {
			out = append(out, c)
		}
	}
	return out
}

// removeStrays removes stray release containers, each under its
// workload's lease (a busy workload waits for the next pass).
func (e *Engine) removeStrays(ctx context.Context, strays []Container) error {
	var errs []error
	for _, c := range strays {
		err := e.withLease(ctx, c.Labels[labels.ManagedWorkload], func(ctx context.Context, l Lease) error {
			if err := e.Coord.Commit(ctx, l, Writes{}); err != nil {
				return err
			}
			return e.Docker.Remove(ctx, c.ID)
		})
		switch {
		case err == nil:
			e.Log.Warn().Str(logkey.Workload, c.Labels[labels.ManagedWorkload]).Str(logkey.Container, c.Name).Msg("stray release container removed")
		case !errors.Is(err, errSkipped):
			errs = append(errs, fmt.Errorf("remove stray release container %s: %w", c.Name, err))
		}
	}
	return errors.Join(errs...)
}
