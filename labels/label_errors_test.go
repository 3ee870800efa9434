package labels

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Bad labels: every message each must produce, and a bad workload never
// taking the good ones down with it.

// workloadKeys is the list of known keys of a workload, as errors show it.
const workloadKeys = "image, registry, port, healthcheck, healthTimeout, healthInterval, healthStartPeriod, healthStatus, healthHost, healthPort, defaultTag, tags, policy, prerelease, approval, approvalTimeout, poll, notify, maxInstances, cpuLimit, memoryLimit, pidsLimit, replicas, placement, command, entrypoint, release, env, volumes, faces"

// labelErrorCases are bad labels and every message they must produce,
// sorted by key; FuzzWorkloads uses them as seeds.
var labelErrorCases = []struct {
	name   string
	labels map[string]string
	want   []string
}{
	{
		name:   "bad int",
		labels: web("tinyforge.workloads.web.port", "80a"),
		want:   []string{`tinyforge.workloads.web.port: "80a" is not a valid int`},
	},
	{
		name:   "int out of range",
		labels: web("tinyforge.workloads.web.maxInstances", "99999999999999999999"),
		want:   []string{`tinyforge.workloads.web.maxInstances: "99999999999999999999" is out of range for int`},
	},
	{
		name:   "unknown key",
		labels: web("tinyforge.workloads.web.prot", "80"),
		want:   []string{`tinyforge.workloads.web.prot: unknown key "prot": did you mean "port"? (known keys here: ` + workloadKeys + `)`},
	},
	{
		name:   "unknown key in the middle",
		labels: web("tinyforge.workloads.web.face.public.subdomain", "www"),
		want:   []string{`tinyforge.workloads.web.face.public.subdomain: unknown key "face": did you mean "faces"? (known keys here: ` + workloadKeys + `)`},
	},
	{
		name:   "unknown face key",
		labels: web("tinyforge.workloads.web.faces.public.host", "www"),
		want:   []string{`tinyforge.workloads.web.faces.public.host: unknown key "host" (known keys here: subdomain, domain, targetPort, accessList, tls, dns)`},
	},
	{
		name:   "name is not a label",
		labels: web("tinyforge.workloads.web.name", "other"),
		want:   []string{`tinyforge.workloads.web.name: unknown key "name" (known keys here: ` + workloadKeys + `)`},
	},
	{
		name:   "unknown controller key",
		labels: web("tinyforge.port", "80"),
		want:   []string{`tinyforge.port: unknown key "port" (known keys here: enable, scope, signature, settings, workloads)`},
	},
	{
		name:   "bad bool",
		labels: web("tinyforge.enable", "yes"),
		want:   []string{`tinyforge.enable: "yes" is not a valid bool (use true or false)`},
	},
	{
		name:   "bad duration",
		labels: web("tinyforge.workloads.web.healthTimeout", "5 minutes"),
		want:   []string{`tinyforge.workloads.web.healthTimeout: "5 minutes" is not a valid duration (use 90s, 5m, 1h30m, or a number of seconds)`},
	},
	{
		name:   "value on a leaf with sub-keys",
		labels: web("tinyforge.workloads.web.port.number", "80"),
		want:   []string{`tinyforge.workloads.web.port.number: "port" takes a value and has no sub-keys`},
	},
	{
		name:   "value on a group",
		labels: web("tinyforge.workloads.web.env", "FOO=bar"),
		want:   []string{`tinyforge.workloads.web.env: "env" is a group of keys and takes no value of its own: set the keys below it (env.<key>)`},
	},
	{
		name:   "value on a workload",
		labels: web("tinyforge.workloads.web", "true"),
		want:   []string{`tinyforge.workloads.web: "web" is a group of keys and takes no value of its own: set the keys below it (web.<key>)`},
	},
	{
		name:   "value on a face",
		labels: web("tinyforge.workloads.web.faces.public", "www"),
		want:   []string{`tinyforge.workloads.web.faces.public: "public" is a group of keys and takes no value of its own: set the keys below it (public.<key>)`},
	},
	{
		name:   "value on workloads",
		labels: web("tinyforge.workloads", "web"),
		want:   []string{`tinyforge.workloads: "workloads" is a group of keys and takes no value of its own: set the keys below it (workloads.<key>)`},
	},
	{
		name:   "empty segment",
		labels: web("tinyforge.workloads.web..image", "x"),
		want:   []string{`tinyforge.workloads.web..image: empty segment (two dots in a row, or a trailing dot)`},
	},
	{
		name:   "trailing dot",
		labels: web("tinyforge.", "x"),
		want:   []string{`tinyforge.: empty segment (two dots in a row, or a trailing dot)`},
	},
	{
		name:   "stray bracket (panics paerser)",
		labels: web("tinyforge.workloads.web]", "x"),
		want:   []string{`tinyforge.workloads.web]: malformed segment "web]": brackets may only hold a list index, as in name[0]`},
	},
	{
		name:   "index on a map key",
		labels: web("tinyforge.workloads.web.env.A[0]", "x"),
		want:   []string{`tinyforge.workloads.web.env.A[0]: brackets are for list keys only, not in the name "A[0]"`},
	},
	{
		name:   "index on a field that is not a list",
		labels: web("tinyforge.workloads.web.image[0]", "x"),
		want:   []string{`tinyforge.workloads.web.image[0]: "image" is not a list: remove "[0]"`},
	},
	{
		name:   "wrongly cased root",
		labels: web("TinyForge.workloads.web.port", "80"),
		want:   []string{`TinyForge.workloads.web.port: the label root must be written "tinyforge." in lowercase`},
	},
	{
		name:   "env names differing only by case",
		labels: web("tinyforge.workloads.web.env.FOO", "secret1", "tinyforge.workloads.web.env.foo", "secret2"),
		want:   []string{`tinyforge.workloads.web.env.foo: same key as tinyforge.workloads.web.env.FOO: keys are case-insensitive after "tinyforge.", so one would silently replace the other`},
	},
	{
		name:   "same field twice",
		labels: web("tinyforge.workloads.web.Port", "81"),
		want:   []string{`tinyforge.workloads.web.port: same key as tinyforge.workloads.web.Port: keys are case-insensitive after "tinyforge.", so one would silently replace the other`},
	},
	{
		name:   "missing image",
		labels: web("tinyforge.workloads.web.image", ""),
		want:   []string{`tinyforge.workloads.web.image: missing: set the image repository, e.g. registry.example.com/team/web`},
	},
	{
		name:   "image with tag",
		labels: web("tinyforge.workloads.web.image", "127.0.0.1:5000/team/web:v1"),
		want:   []string{`tinyforge.workloads.web.image: "127.0.0.1:5000/team/web:v1" has a tag: give the repository only and put the tag in defaultTag`},
	},
	{
		name:   "image with tag, no slash",
		labels: web("tinyforge.workloads.web.image", "localhost:5000"),
		want:   []string{`tinyforge.workloads.web.image: "localhost:5000" has a tag: give the repository only and put the tag in defaultTag`},
	},
	{
		name:   "image with digest",
		labels: web("tinyforge.workloads.web.image", "r/web@sha256:fe6664b6f4cb7108cac7161fedc8ad9f316cb1caeab6a736bfddc48e9c29e4b3"),
		want:   []string{`tinyforge.workloads.web.image: "r/web@sha256:fe6664b6f4cb7108cac7161fedc8ad9f316cb1caeab6a736bfddc48e9c29e4b3" has a digest: give the repository only; the tag comes from the webhook or defaultTag`},
	},
	{
		name:   "image with uppercase path",
		labels: web("tinyforge.workloads.web.image", "registry.example.com/Team/web"),
		want:   []string{`tinyforge.workloads.web.image: "registry.example.com/Team/web" is not a valid image repository: [host[:port]/]path, path components in lowercase letters, digits and . _ -`},
	},
	{
		name:   "port out of range",
		labels: web("tinyforge.workloads.web.port", "70000"),
		want:   []string{`tinyforge.workloads.web.port: 70000 is out of range (1-65535)`},
	},
	{
		name:   "negative port",
		labels: web("tinyforge.workloads.web.port", "-1"),
		want:   []string{`tinyforge.workloads.web.port: -1 is out of range (1-65535)`},
	},
	{
		name:   "port missing with a face",
		labels: web("tinyforge.workloads.web.port", ""),
		want:   []string{`tinyforge.workloads.web.port: missing: the container port is required when the workload has an enabled face, or an HTTP or TCP healthcheck without healthPort`},
	},
	{
		name: "port 0 with a healthcheck",
		labels: web("tinyforge.workloads.web.port", "0", "tinyforge.workloads.web.faces.public.subdomain", "",
			"tinyforge.workloads.web.healthcheck", "/up"),
		want: []string{`tinyforge.workloads.web.port: missing: the container port is required when the workload has an enabled face, or an HTTP or TCP healthcheck without healthPort`},
	},
	{
		name:   "relative healthcheck",
		labels: web("tinyforge.workloads.web.healthcheck", "healthz"),
		want:   []string{`tinyforge.workloads.web.healthcheck: "healthz" is not a health check: did you mean "/healthz"? (use a URL path starting with /, http, tcp or docker)`},
	},
	{
		name:   "negative healthTimeout",
		labels: web("tinyforge.workloads.web.healthTimeout", "-5s"),
		want:   []string{`tinyforge.workloads.web.healthTimeout: -5s is negative`},
	},
	{
		name:   "negative maxInstances",
		labels: web("tinyforge.workloads.web.maxInstances", "-2"),
		want:   []string{`tinyforge.workloads.web.maxInstances: -2 is negative (0 and 1 both mean strict blue-green)`},
	},
	{
		name:   "bad defaultTag",
		labels: web("tinyforge.workloads.web.defaultTag", "-v1"),
		want:   []string{`tinyforge.workloads.web.defaultTag: "-v1" is not a valid image tag (up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-')`},
	},
	{
		name:   "face targetPort out of range",
		labels: web("tinyforge.workloads.web.faces.public.targetPort", "65536"),
		want:   []string{`tinyforge.workloads.web.faces.public.targetPort: 65536 is out of range (1-65535; 0 or unset means the workload port)`},
	},
	{
		name:   "env name with =",
		labels: web("tinyforge.workloads.web.env.A=B", "secret"),
		want:   []string{`tinyforge.workloads.web.env.A=B: environment variable name "A=B" must not contain '=' or NUL`},
	},
	{
		name:   "workload name not DNS-safe",
		labels: map[string]string{"tinyforge.workloads.Web_1.image": "r/web"},
		want:   []string{`tinyforge.workloads.Web_1: workload name "Web_1" must be a DNS label: 1-63 lowercase letters, digits or '-', not starting or ending with '-'`},
	},
	{
		name:   "unknown key close to a known one",
		labels: web("tinyforge.workloads.web.cpulimits", "1"),
		want:   []string{`tinyforge.workloads.web.cpulimits: unknown key "cpulimits": did you mean "cpuLimit"? (known keys here: ` + workloadKeys + `)`},
	},
	{
		name:   "unknown key, prefix suggestion",
		labels: web("tinyforge.workloads.web.memory", "512"),
		want:   []string{`tinyforge.workloads.web.memory: unknown key "memory": did you mean "memoryLimit"? (known keys here: ` + workloadKeys + `)`},
	},
	{
		name:   "unknown key, several suggestions",
		labels: web("tinyforge.workloads.web.health", "/up"),
		want:   []string{`tinyforge.workloads.web.health: unknown key "health": did you mean "healthcheck", "healthTimeout", "healthInterval", "healthStartPeriod", "healthStatus", "healthHost" or "healthPort"? (known keys here: ` + workloadKeys + `)`},
	},
	{
		name:   "unknown volume key",
		labels: web("tinyforge.workloads.web.volumes.data.path", "/data"),
		want:   []string{`tinyforge.workloads.web.volumes.data.path: unknown key "path" (known keys here: target, source, scope, name, readOnly)`},
	},
	{
		name:   "unknown settings key",
		labels: web("tinyforge.settings.networks", "edge"),
		want:   []string{`tinyforge.settings.networks: unknown key "networks": did you mean "network"? (known keys here: network, domain, baseVolumePath)`},
	},
	{
		name:   "misspelt workloads",
		labels: map[string]string{"tinyforge.workload.web.image": "r/web"},
		want:   []string{`tinyforge.workload.web.image: unknown key "workload": did you mean "workloads"? (known keys here: enable, scope, signature, settings, workloads)`},
	},
	{
		name:   "registry with a blank",
		labels: web("tinyforge.workloads.web.registry", "my registry"),
		want:   []string{`tinyforge.workloads.web.registry: "my registry" is not a registry credentials name: it must not contain blanks or control characters`},
	},
	{
		name:   "bad tags regexp",
		labels: web("tinyforge.workloads.web.tags", `/^v(\d+$/`),
		want:   []string{`tinyforge.workloads.web.tags: "/^v(\\d+$/" is not a valid regular expression: error parsing regexp: missing closing ): ` + "`^v(\\d+$`"},
	},
	{
		name:   "bad tags glob",
		labels: web("tinyforge.workloads.web.tags", "v[0-9"),
		want:   []string{`tinyforge.workloads.web.tags: "v[0-9" is not a valid glob: "v[0-9" is malformed (unclosed [ or trailing \)`},
	},
	{
		name:   "tags glob that can never match",
		labels: web("tinyforge.workloads.web.tags", "release/*"),
		want:   []string{`tinyforge.workloads.web.tags: "release/*" can never match: "release/*" holds "/", and tags hold only letters, digits, '_', '.' and '-' (write a regular expression as /re/)`},
	},
	{
		name:   "tags with an empty glob",
		labels: web("tinyforge.workloads.web.tags", "v*,,stable"),
		want:   []string{`tinyforge.workloads.web.tags: "v*,,stable" has an empty glob: write globs separated by single commas, e.g. v*,stable`},
	},
	{
		name:   "defaultTag the tags refuse",
		labels: web("tinyforge.workloads.web.tags", "v*", "tinyforge.workloads.web.defaultTag", "latest"),
		want:   []string{`tinyforge.workloads.web.defaultTag: "latest" is not allowed by tags "v*", so it could never deploy`},
	},
	{
		name:   "bad cpuLimit",
		labels: web("tinyforge.workloads.web.cpuLimit", "half"),
		want:   []string{`tinyforge.workloads.web.cpuLimit: "half" is not a valid number`},
	},
	{
		name:   "negative cpuLimit",
		labels: web("tinyforge.workloads.web.cpuLimit", "-1"),
		want:   []string{`tinyforge.workloads.web.cpuLimit: -1 is out of range: 0 means unlimited, else 0.01 to 1024 cores`},
	},
	{
		name:   "cpuLimit in millicores",
		labels: web("tinyforge.workloads.web.cpuLimit", "2000"),
		want:   []string{`tinyforge.workloads.web.cpuLimit: 2000 is out of range: 0 means unlimited, else 0.01 to 1024 cores`},
	},
	{
		name:   "cpuLimit NaN",
		labels: web("tinyforge.workloads.web.cpuLimit", "NaN"),
		want:   []string{`tinyforge.workloads.web.cpuLimit: NaN is out of range: 0 means unlimited, else 0.01 to 1024 cores`},
	},
	{
		name:   "cpuLimit too small",
		labels: web("tinyforge.workloads.web.cpuLimit", "0.001"),
		want:   []string{`tinyforge.workloads.web.cpuLimit: 0.001 is out of range: 0 means unlimited, else 0.01 to 1024 cores`},
	},
	{
		name:   "negative memoryLimit",
		labels: web("tinyforge.workloads.web.memoryLimit", "-5"),
		want:   []string{`tinyforge.workloads.web.memoryLimit: -5 is negative (0 means unlimited)`},
	},
	{
		name:   "negative pidsLimit",
		labels: web("tinyforge.workloads.web.pidsLimit", "-1"),
		want:   []string{`tinyforge.workloads.web.pidsLimit: -1 is out of range: 0 takes the sidecar's --max-pids, else 1 to 4194304`},
	},
	{
		name:   "pidsLimit above pid_max",
		labels: web("tinyforge.workloads.web.pidsLimit", "5000000"),
		want:   []string{`tinyforge.workloads.web.pidsLimit: 5000000 is out of range: 0 takes the sidecar's --max-pids, else 1 to 4194304`},
	},
	{
		name:   "negative replicas",
		labels: web("tinyforge.workloads.web.replicas", "-2"),
		want:   []string{`tinyforge.workloads.web.replicas: -2 is out of range: 0 and 1 run one task, at most 1000`},
	},
	{
		name:   "placement constraint without an operator",
		labels: web("tinyforge.workloads.web.placement.constraints", "node.role==worker, node.labels.zone"),
		want:   []string{`tinyforge.workloads.web.placement.constraints: "node.labels.zone" is not a swarm constraint: want attribute==value or attribute!=value (node.role==worker)`},
	},
	{
		name:   "placement preference not a node attribute",
		labels: web("tinyforge.workloads.web.placement.preferences", "zone"),
		want:   []string{`tinyforge.workloads.web.placement.preferences: "zone" is not a node attribute to spread over: want node.<attribute> (node.labels.zone)`},
	},
	{
		name:   "memoryLimit below Docker's minimum",
		labels: web("tinyforge.workloads.web.memoryLimit", "4"),
		want:   []string{`tinyforge.workloads.web.memoryLimit: 4 MB is below Docker's minimum of 6 MB (0 means unlimited)`},
	},
	{
		name:   "memoryLimit in bytes",
		labels: web("tinyforge.workloads.web.memoryLimit", "536870912"),
		want:   []string{`tinyforge.workloads.web.memoryLimit: 536870912 MB is more than 16777216 MB (16 TiB): the limit is in MB, not bytes`},
	},
	{
		name:   "memoryLimit with a unit",
		labels: web("tinyforge.workloads.web.memoryLimit", "512m"),
		want:   []string{`tinyforge.workloads.web.memoryLimit: "512m" is not a valid int`},
	},
	{
		name:   "command with an open quote",
		labels: web("tinyforge.workloads.web.command", `sh -c "echo hi`),
		want:   []string{`tinyforge.workloads.web.command: "sh -c \"echo hi": malformed command line: unterminated double quote`},
	},
	{
		name:   "entrypoint bad JSON",
		labels: web("tinyforge.workloads.web.entrypoint", `["tini", 1]`),
		want:   []string{`tinyforge.workloads.web.entrypoint: "[\"tini\", 1]": malformed command line: not a JSON array of strings: json: cannot unmarshal number into Go value of type string`},
	},
	{
		name:   "blank command",
		labels: web("tinyforge.workloads.web.command", "  "),
		want:   []string{`tinyforge.workloads.web.command: "  " has no words: remove the label to keep the image's default`},
	},
	{
		name:   "volume without target or scope",
		labels: web("tinyforge.workloads.web.volumes.data.readOnly", "true"),
		want: []string{
			`tinyforge.workloads.web.volumes.data.scope: missing: set one of absolute, ephemeral, instance, stage, project, project_named, named`,
			`tinyforge.workloads.web.volumes.data.target: missing: set the absolute path inside the container, e.g. /data`,
		},
	},
	{
		name: "unknown scope",
		labels: web("tinyforge.workloads.web.volumes.data.target", "/data",
			"tinyforge.workloads.web.volumes.data.scope", "projectnamed"),
		want: []string{`tinyforge.workloads.web.volumes.data.scope: "projectnamed" is not a volume scope (one of absolute, ephemeral, instance, stage, project, project_named, named); did you mean "project_named"?`},
	},
	{
		name: "relative target",
		labels: web("tinyforge.workloads.web.volumes.data.target", "data",
			"tinyforge.workloads.web.volumes.data.scope", "stage"),
		want: []string{`tinyforge.workloads.web.volumes.data.target: "data" is not an absolute path inside the container`},
	},
	{
		name: "target over the root",
		labels: web("tinyforge.workloads.web.volumes.data.target", "/a/..",
			"tinyforge.workloads.web.volumes.data.scope", "stage"),
		want: []string{`tinyforge.workloads.web.volumes.data.target: cannot mount a volume over the container's root /`},
	},
	{
		name: "two volumes on one target",
		labels: web("tinyforge.workloads.web.volumes.a.target", "/data",
			"tinyforge.workloads.web.volumes.a.scope", "stage",
			"tinyforge.workloads.web.volumes.b.target", "/data/",
			"tinyforge.workloads.web.volumes.b.scope", "ephemeral"),
		want: []string{`tinyforge.workloads.web.volumes.b.target: "/data/" is already the target of tinyforge.workloads.web.volumes.a.target: a container path takes one volume`},
	},
	{
		name: "absolute without source",
		labels: web("tinyforge.workloads.web.volumes.data.target", "/data",
			"tinyforge.workloads.web.volumes.data.scope", "absolute"),
		want: []string{`tinyforge.workloads.web.volumes.data.source: missing: an absolute volume binds a host path, e.g. /srv/data/web`},
	},
	{
		name: "absolute with a relative source",
		labels: web("tinyforge.workloads.web.volumes.data.target", "/data",
			"tinyforge.workloads.web.volumes.data.scope", "absolute",
			"tinyforge.workloads.web.volumes.data.source", "./data"),
		want: []string{`tinyforge.workloads.web.volumes.data.source: "./data" is not an absolute host path`},
	},
	{
		name: "source on another scope",
		labels: web("tinyforge.workloads.web.volumes.data.target", "/data",
			"tinyforge.workloads.web.volumes.data.scope", "instance",
			"tinyforge.workloads.web.volumes.data.source", "/srv/data"),
		want: []string{`tinyforge.workloads.web.volumes.data.source: only absolute volumes take a source; scope instance decides where the data lives: remove source or use scope absolute`},
	},
	{
		name: "name on a bind scope",
		labels: web("tinyforge.workloads.web.volumes.data.target", "/data",
			"tinyforge.workloads.web.volumes.data.scope", "stage",
			"tinyforge.workloads.web.volumes.data.name", "data"),
		want: []string{`tinyforge.workloads.web.volumes.data.name: only named and project_named volumes take a name: remove it`},
	},
	{
		name: "bad volume name",
		labels: web("tinyforge.workloads.web.volumes.data.target", "/data",
			"tinyforge.workloads.web.volumes.data.scope", "named",
			"tinyforge.workloads.web.volumes.data.name", "my/vol"),
		want: []string{`tinyforge.workloads.web.volumes.data.name: "my/vol" is not a valid Docker volume name (letters, digits, '_', '.', '-', starting with a letter or digit)`},
	},
	{
		name: "named volume key too short to be the name",
		labels: web("tinyforge.workloads.web.volumes.d.target", "/data",
			"tinyforge.workloads.web.volumes.d.scope", "named"),
		want: []string{`tinyforge.workloads.web.volumes.d.name: "d" is too short for a Docker volume name (at least 2 characters)`},
	},
	{
		name: "bad volume key",
		labels: web("tinyforge.workloads.web.volumes.my~data.target", "/data",
			"tinyforge.workloads.web.volumes.my~data.scope", "ephemeral"),
		want: []string{`tinyforge.workloads.web.volumes.my~data: volume name "my~data" must be 1-63 letters, digits, '_' or '-', starting with a letter or digit: it names a host directory`},
	},
	{
		name: "reserved volume key",
		labels: web("tinyforge.workloads.web.volumes.instances.target", "/data",
			"tinyforge.workloads.web.volumes.instances.scope", "project"),
		want: []string{`tinyforge.workloads.web.volumes.instances: volume name "instances" is reserved for the per-tag directories of instance volumes: pick another name`},
	},
	{
		name: "read-only tmpfs",
		labels: web("tinyforge.workloads.web.volumes.tmp.target", "/tmp",
			"tinyforge.workloads.web.volumes.tmp.scope", "ephemeral",
			"tinyforge.workloads.web.volumes.tmp.readOnly", "true"),
		want: []string{`tinyforge.workloads.web.volumes.tmp.readOnly: an ephemeral volume starts empty, so a read-only one stays empty: remove readOnly or change the scope`},
	},
	{
		name:   "value on a volume",
		labels: web("tinyforge.workloads.web.volumes.data", "/data"),
		want:   []string{`tinyforge.workloads.web.volumes.data: "data" is a group of keys and takes no value of its own: set the keys below it (data.<key>)`},
	},
	{
		name:   "bad face subdomain",
		labels: web("tinyforge.workloads.web.faces.public.subdomain", "my_site"),
		want:   []string{`tinyforge.workloads.web.faces.public.subdomain: "my_site" is not a valid host name part (dot-separated labels of letters, digits and '-')`},
	},
	{
		name:   "bad face domain",
		labels: web("tinyforge.workloads.web.faces.public.domain", "example..com"),
		want:   []string{`tinyforge.workloads.web.faces.public.domain: "example..com" is not a valid domain name (dot-separated labels of letters, digits and '-')`},
	},
	{
		name:   "bad face accessList",
		labels: web("tinyforge.workloads.web.faces.public.accessList", "office only"),
		want:   []string{`tinyforge.workloads.web.faces.public.accessList: "office only" is not an access list id: it must not contain blanks or control characters`},
	},
	{
		name:   "bad face tls",
		labels: web("tinyforge.workloads.web.faces.public.tls", "on"),
		want:   []string{`tinyforge.workloads.web.faces.public.tls: "on" is not a valid bool (use true or false)`},
	},
	{
		name:   "bad face dns",
		labels: web("tinyforge.workloads.web.faces.public.dns", "no"),
		want:   []string{`tinyforge.workloads.web.faces.public.dns: "no" is not a valid bool (use true or false)`},
	},
	{
		name: "bad settings",
		labels: web("tinyforge.settings.network", "my net",
			"tinyforge.settings.domain", "-example.com",
			"tinyforge.settings.baseVolumePath", "volumes"),
		want: []string{
			`tinyforge.settings.baseVolumePath: "volumes" is not an absolute host path`,
			`tinyforge.settings.domain: "-example.com" is not a valid domain name (dot-separated labels of letters, digits and '-')`,
			`tinyforge.settings.network: "my net" is not a valid Docker network name (up to 128 letters, digits, '_', '.', '-', starting with a letter or digit)`,
		},
	},
	{
		name:   "base volume path at the root",
		labels: web("tinyforge.settings.baseVolumePath", "/"),
		want:   []string{`tinyforge.settings.baseVolumePath: the host's root / cannot be the base volume path: name a directory for tinyforge's volumes`},
	},
	{
		name: "several problems of one workload at once",
		labels: map[string]string{
			"tinyforge.workloads.-bad.image":       "r/x:1",
			"tinyforge.workloads.-bad.port":        "0",
			"tinyforge.workloads.-bad.healthcheck": "up",
		},
		want: []string{
			`tinyforge.workloads.-bad: workload name "-bad" must be a DNS label: 1-63 lowercase letters, digits or '-', not starting or ending with '-'`,
			`tinyforge.workloads.-bad.healthcheck: "up" is not a health check: did you mean "/up"? (use a URL path starting with /, http, tcp or docker)`,
			`tinyforge.workloads.-bad.image: "r/x:1" has a tag: give the repository only and put the tag in defaultTag`,
			`tinyforge.workloads.-bad.port: missing: the container port is required when the workload has an enabled face, or an HTTP or TCP healthcheck without healthPort`,
		},
	},
	{
		name:   "notify target name not plain",
		labels: map[string]string{"tinyforge.workloads.x.image": "r/x", "tinyforge.workloads.x.notify": "ops, Team Chat"},
		want:   []string{`tinyforge.workloads.x.notify: "Team Chat" is not a target name (1-32 of a-z, 0-9, '-', '_', starting with a letter or digit; comma-separated)`},
	},
	{
		name:   "notify none beside target names",
		labels: map[string]string{"tinyforge.workloads.x.image": "r/x", "tinyforge.workloads.x.notify": "ops,none"},
		want:   []string{`tinyforge.workloads.x.notify: "none" cannot be combined with target names: give none alone, or only names`},
	},
	{
		name: "several decode problems of one workload at once",
		labels: map[string]string{
			"tinyforge.workloads.x.image":         "r/x",
			"tinyforge.workloads.x.port":          "eighty",
			"tinyforge.workloads.x.maxInstances":  "2.5",
			"tinyforge.workloads.x.healthTimeout": "soon",
		},
		want: []string{
			`tinyforge.workloads.x.healthTimeout: "soon" is not a valid duration (use 90s, 5m, 1h30m, or a number of seconds)`,
			`tinyforge.workloads.x.maxInstances: "2.5" is not a valid int`,
			`tinyforge.workloads.x.port: "eighty" is not a valid int`,
		},
	},
}

// TestLabelErrors checks that every problem names the full label key, and
// that Workloads keeps the good workloads next to a bad one.
func TestLabelErrors(t *testing.T) {
	for _, tt := range labelErrorCases {
		t.Run(tt.name, func(t *testing.T) {
			ws, errs := Workloads(tt.labels)
			var got []string
			for _, err := range errs {
				got = append(got, err.Error())
				var le *Error
				if !errors.As(err, &le) || le.Key == "" {
					t.Errorf("%v is not an *Error with a key", err)
				}
				if strings.Contains(err.Error(), "secret") || le != nil && strings.Contains(le.Value, "secret") {
					t.Errorf("error leaks an env value: %v", err)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("errors:\n got %q\nwant %q", got, tt.want)
			}
			for name, w := range ws {
				if err := w.Validate(); err != nil {
					t.Errorf("returned workload %s is invalid: %v", name, err)
				}
			}

			// Decode and Validate together report the same problems.
			c, err := Decode(tt.labels)
			if err == nil {
				err = c.Validate()
			}
			if err == nil {
				t.Fatal("Decode+Validate accepted bad labels")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Decode+Validate error %q lacks %q", err, want)
				}
			}
		})
	}
}

func TestWorkloadsIsolatesBadWorkloads(t *testing.T) {
	m := map[string]string{
		"tinyforge.enable":                  "maybe",
		"tinyforge.workloads.good.image":    "r/good",
		"tinyforge.workloads.good.env.X":    "1",
		"tinyforge.workloads.typo.image":    "r/typo",
		"tinyforge.workloads.typo.prot":     "80",
		"tinyforge.workloads.badint.image":  "r/badint",
		"tinyforge.workloads.badint.port":   "x",
		"tinyforge.workloads.invalid.image": "r/invalid:latest",
		"tinyforge.workloads.Good2.image":   "r/good2",
		"tinyforge.workloads.good2.port":    "80",
	}
	ws, errs := Workloads(m)
	if len(ws) != 1 || ws["good"] == nil || ws["good"].Env["X"] != "1" {
		t.Fatalf("workloads: %v", ws)
	}
	wantWorkloads := map[string]bool{"": true, "typo": true, "badint": true, "invalid": true, "Good2": true}
	if len(errs) != len(wantWorkloads) {
		t.Fatalf("want %d errors, got %q", len(wantWorkloads), errs)
	}
	for _, err := range errs {
		var le *Error
		if !errors.As(err, &le) || !wantWorkloads[le.Workload] {
			t.Errorf("unexpected error %v (workload %q)", err, le.Workload)
		}
	}

	if _, err := Decode(m); err == nil {
		t.Fatal("Decode accepted bad labels")
	}
}

// TestWorkloadsReportsEverything checks that decode and key problems do not
// hide the validation problems of the rest of the workload, and that a bad
// value is not reported a second time as missing.
func TestWorkloadsReportsEverything(t *testing.T) {
	_, errs := Workloads(map[string]string{
		"tinyforge.workloads.web.image":                  "r/web:v1",
		"tinyforge.workloads.web.Port":                   "80a",
		"tinyforge.workloads.web.prot":                   "80",
		"tinyforge.workloads.web.healthcheck":            "up",
		"tinyforge.workloads.web.faces.public.subdomain": "www",
	})
	want := []string{
		`tinyforge.workloads.web.Port: "80a" is not a valid int`,
		`tinyforge.workloads.web.healthcheck: "up" is not a health check: did you mean "/up"? (use a URL path starting with /, http, tcp or docker)`,
		`tinyforge.workloads.web.image: "r/web:v1" has a tag: give the repository only and put the tag in defaultTag`,
		`tinyforge.workloads.web.prot: unknown key "prot": did you mean "port"? (known keys here: ` + workloadKeys + `)`,
	}
	var got []string
	for _, err := range errs {
		got = append(got, err.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("errors:\n got %q\nwant %q", got, want)
	}
}

func TestErrorQuotesOddKeys(t *testing.T) {
	_, errs := Workloads(map[string]string{"tinyforge.work loads\n": "x"})
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), `"tinyforge.work loads\n": `) {
		t.Fatalf("got %q", errs)
	}
}
