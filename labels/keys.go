package labels

// Label keys the sidecar reads or writes outside the decoded workload tree.
// Every label tinyforge honours is declared here or in the Go types of
// config.go, so one file lists them all.
const (
	// Root is the paerser root segment: every tinyforge label starts with it.
	Root = "tinyforge"
	// Enable marks a controller container whose labels declare workloads.
	Enable = "tinyforge.enable"
	// Scope ties a controller, and every container and network a sidecar
	// creates, to the sidecar started with the same --scope, so several
	// sidecars can share one Docker host without touching each other's.
	Scope = "tinyforge.scope"

	// Managed marks a container the sidecar created; Docker alone can then
	// tell what the sidecar owns, even when Redis lost everything.
	Managed = "tinyforge.managed"
	// ManagedWorkload names the workload a managed container belongs to.
	ManagedWorkload = "tinyforge.workload"
	// ManagedTag is the image tag a managed container runs.
	ManagedTag = "tinyforge.tag"
	// ManagedImage is the full image reference (repository:tag) a managed container runs.
	ManagedImage = "tinyforge.image"
	// ManagedDigest is the manifest digest the image resolved to at pull time.
	ManagedDigest = "tinyforge.digest"
	// ManagedDeploy is the id of the deploy that created a managed container.
	ManagedDeploy = "tinyforge.deploy"
	// ManagedPort is the container port the workload serves on.
	ManagedPort = "tinyforge.port"
	// ManagedConfig is the fingerprint of the runtime config the container
	// was created from (see deployer.Fingerprint).
	ManagedConfig = "tinyforge.config"
	// ManagedNetwork is the Docker network the container was attached to.
	ManagedNetwork = "tinyforge.network"
	// ManagedRelease ("true") marks the one-off container of a deploy's
	// release command: it never serves, and it is removed when it exits.
	ManagedRelease = "tinyforge.release"
)

// Labels of authentication (see package labelsig).
const (
	// Signature is a controller's HMAC over its other tinyforge.* labels,
	// required by a sidecar started with --controller-key-file
	// (tinyforge labels sign produces it).
	Signature = "tinyforge.signature"
	// ManagedHosts lists, comma-separated, the host names a managed
	// container was granted when it was created: the host claims are
	// rebuilt from them after Redis lost its data.
	ManagedHosts = "tinyforge.hosts"
	// ManagedSignature is the sidecar's HMAC over a managed container's
	// identity labels and name: a container without a valid one was not
	// created by the sidecar and is never adopted, routed or converged.
	ManagedSignature = "tinyforge.identity"
	// ManagedKeyScope is the controller key scope of the workload a
	// managed container was created for: a controller signed for another
	// scope cannot take the workload over while such a container exists.
	ManagedKeyScope = "tinyforge.keyscope"
)
