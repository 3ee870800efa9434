package metrics

// Flags is what RegisterFlags needs from the sidecar's flag set, which
// gives every flag its TINYFORGE_* environment twin and reads a secret's
// --x-file / TINYFORGE_X_FILE twin.
type Flags interface {
	Secret(p *string, name, def, usage string)
}

// Config is the metrics settings of the sidecar.
type Config struct {
	// Token, when set, is the bearer token GET /metrics requires.
	Token string
}

// RegisterFlags declares the metrics flags into c.
func (c *Config) RegisterFlags(f Flags) {
	f.Secret(&c.Token, "metrics-token", "", "bearer token GET /metrics requires (unset: /metrics is open on the sidecar's listener)")
}
