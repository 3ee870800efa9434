package labelsig

import (
	"maps"
	"slices"
	"strings"
)

// Canonical encodes a label set as the bytes a signature covers: one
// "key=value\n" line per label, sorted by key. In keys, '\\', '=' and
// newlines are escaped, in values '\\' and newlines, so no two label sets
// encode alike (a value cannot forge a line of its own).
func Canonical(lbls map[string]string) []byte {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(lbls)) {
		b.WriteString(escape(k, true))
		b.WriteByte('=')
		b.WriteString(escape(lbls[k], false))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

var (
	keyEscaper   = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "=", `\=`)
	valueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escape(s string, key bool) string {
	if key {
		return keyEscaper.Replace(s)
	}
	return valueEscaper.Replace(s)
}
