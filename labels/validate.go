package labels

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/tinyforge/tinyforge/imageref"
)

// Validate reports every problem of the settings and of every workload at
// once, in workload name order; each error is an *Error naming its label.
func (c *Controller) Validate() error {
	errs := c.Settings.problems()
	for _, name := range slices.Sorted(maps.Keys(c.Workloads)) {
		w := c.Workloads[name]
		if w == nil {
			continue
		}
		if w.Name == "" { // built by hand rather than by Decode
			named := *w
			named.Name = name
			w = &named
		}
		errs = append(errs, w.problems()...)
	}
	return errors.Join(errs...)
}

// Validate reports every problem of the workload at once (errors.Join of
// *Error), so a user fixes a controller in one round.
func (w *Workload) Validate() error { return errors.Join(w.problems()...) }

// dnsLabel is what a workload name must be: it ends up in container
// names, host names and Redis keys.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidWorkloadName reports whether name is a workload name (a DNS label:
// 1-63 lowercase letters, digits or '-', not starting or ending with '-');
// secrets checks the workload of an env override with it.
func ValidWorkloadName(name string) bool { return dnsLabel.MatchString(name) }

// problems lists every problem of the workload, each naming its label.
func (w *Workload) problems() []error {
	var errs []error
	bad := func(key, value, format string, args ...any) {
		errs = append(errs, &Error{Key: key, Value: value, Workload: w.Name, Reason: fmt.Sprintf(format, args...)})
	}
	prefix := Root + "." + workloadsKey + "." + w.Name

	if !dnsLabel.MatchString(w.Name) {
		bad(prefix, w.Name, "workload name %q must be a DNS label: 1-63 lowercase letters, digits or '-', not starting or ending with '-'", w.Name)
	}
	if reason := imageProblem(w.Image); reason != "" {
		bad(prefix+".image", w.Image, "%s", reason)
	}

	// An unknown healthcheck is most likely a path missing its slash: it
	// needs the port too, so that one round of fixes suffices.
	needsPort := w.HealthKind() != HealthNone && w.HealthKind() != HealthDocker && w.HealthPort == 0
	for _, f := range w.Faces {
		needsPort = needsPort || f.Enabled()
	}
	switch {
	case w.Port < 0 || w.Port > 65535:
		bad(prefix+".port", strconv.Itoa(w.Port), "%d is out of range (1-65535)", w.Port)
	case w.Port == 0 && needsPort:
		bad(prefix+".port", "", "missing: the container port is required when the workload has an enabled face, or an HTTP or TCP healthcheck without healthPort")
	}
	w.healthProblems(prefix, bad)
	w.placementProblems(prefix, bad)
	if w.DefaultTag != "" && !imageref.ValidTag(w.DefaultTag) {
		bad(prefix+".defaultTag", w.DefaultTag, "%q is not a valid image tag (%s)", w.DefaultTag, imageref.TagRule)
	}
	if w.MaxInstances < 0 {
		bad(prefix+".maxInstances", strconv.Itoa(w.MaxInstances), "%d is negative (0 and 1 both mean strict blue-green)", w.MaxInstances)
	}
	if hasBlank(w.Registry) {
		bad(prefix+".registry", w.Registry, "%q is not a registry credentials name: it must not contain blanks or control characters", w.Registry)
	}
	if _, err := tagMatcher(w.Tags); err != nil {
		bad(prefix+".tags", w.Tags, "%s", err)
	} else if w.DefaultTag != "" && imageref.ValidTag(w.DefaultTag) && !w.AllowsTag(w.DefaultTag) {
		bad(prefix+".defaultTag", w.DefaultTag, "%q is not allowed by tags %q, so it could never deploy", w.DefaultTag, w.Tags)
	}
	if cpu := w.CPULimit; cpu != 0 && !(cpu >= MinCPULimit && cpu <= MaxCPULimit) {
		v := strconv.FormatFloat(cpu, 'g', -1, 64)
		bad(prefix+".cpuLimit", v, "%s is out of range: 0 means unlimited, else %g to %d cores", v, MinCPULimit, MaxCPULimit)
	}
	switch mem := w.MemoryLimit; {
	case mem < 0:
		bad(prefix+".memoryLimit", strconv.Itoa(mem), "%d is negative (0 means unlimited)", mem)
	case mem > 0 && mem < MinMemoryLimit:
		bad(prefix+".memoryLimit", strconv.Itoa(mem), "%d MB is below Docker's minimum of %d MB (0 means unlimited)", mem, MinMemoryLimit)
	case mem > MaxMemoryLimit:
		bad(prefix+".memoryLimit", strconv.Itoa(mem), "%d MB is more than %d MB (16 TiB): the limit is in MB, not bytes", mem, MaxMemoryLimit)
	}
	if n := w.PidsLimit; n < 0 || n > MaxPIDsLimit {
		bad(prefix+".pidsLimit", strconv.Itoa(n), "%d is out of range: 0 takes the sidecar's --max-pids, else 1 to %d", n, MaxPIDsLimit)
	}
	for _, a := range []struct {
		key  string
		args Args
	}{{"command", w.Command}, {"entrypoint", w.Entrypoint}} {
		words, err := a.args.Split()
		switch {
		case err != nil:
			bad(prefix+"."+a.key, string(a.args), "%q: %v", a.args, err)
		case a.args != "" && words == nil:
			bad(prefix+"."+a.key, string(a.args), "%q has no words: remove the label to keep the image's default", a.args)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(w.Env)) {
		if strings.ContainsAny(name, "=\x00") {
			// The value may be a secret: it is not copied into the error.
			bad(prefix+".env."+name, "", "environment variable name %q must not contain '=' or NUL", name)
		}
	}
	w.releaseProblems(prefix, bad)
	w.deliveryProblems(prefix, bad)
	w.notifyProblems(prefix, bad)
	w.volumeProblems(prefix, bad)
	for _, name := range slices.Sorted(maps.Keys(w.Faces)) {
		f := w.Faces[name]
		if f == nil {
			continue
		}
		at := prefix + ".faces." + name
		if f.TargetPort < 0 || f.TargetPort > 65535 {
			bad(at+".targetPort", strconv.Itoa(f.TargetPort), "%d is out of range (1-65535; 0 or unset means the workload port)", f.TargetPort)
		}
		if f.Subdomain != "" && !isHostname(f.Subdomain) {
			bad(at+".subdomain", f.Subdomain, "%q is not a valid host name part (dot-separated labels of letters, digits and '-')", f.Subdomain)
		}
		if f.Domain != "" && !isHostname(f.Domain) {
			bad(at+".domain", f.Domain, "%q is not a valid domain name (dot-separated labels of letters, digits and '-')", f.Domain)
		}
		if hasBlank(f.AccessList) {
			bad(at+".accessList", f.AccessList, "%q is not an access list id: it must not contain blanks or control characters", f.AccessList)
		}
	}
	return errs
}

// hasBlank tells whether s holds white space or control characters, which
// no name or id tinyforge passes on may contain.
func hasBlank(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// imageProblem checks that image is a repository without tag or digest:
// the tag comes from the webhook or defaultTag, and the digest is resolved
// at pull time.
func imageProblem(image string) string {
	switch {
	case image == "":
		return "missing: set the image repository, e.g. registry.example.com/team/web"
	case strings.Contains(image, "@"):
		return fmt.Sprintf("%q has a digest: give the repository only; the tag comes from the webhook or defaultTag", image)
	case strings.Contains(image[strings.LastIndex(image, "/")+1:], ":"):
		return fmt.Sprintf("%q has a tag: give the repository only and put the tag in defaultTag", image)
	}
	if _, err := imageref.Parse(image); err != nil || len(image) > 255 {
		return fmt.Sprintf("%q is not a valid image repository: %s", image, imageref.RepositoryRule)
	}
	return ""
}
