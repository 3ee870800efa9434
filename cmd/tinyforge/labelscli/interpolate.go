package labelscli

import (
	"fmt"
	"strings"
)

// interpolate substitutes variables in a compose value the way compose
// does before it reads labels: $$ is a literal $, ${VAR} and $VAR take the
// environment's value ("" when unset), ${VAR:-default} the default when
// VAR is unset or empty, ${VAR-default} only when unset, ${VAR:?message}
// and ${VAR?message} fail with message when it has no value. unset lists the
// variables that were neither set nor defaulted (compose warns about those
// too). A malformed ${ is an error, as compose refuses it.
func interpolate(s string, lookup func(string) (string, bool)) (out string, unset []string, err error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch next := s[i+1]; {
		case next == '$':
			b.WriteByte('$')
			i++
		case next == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", nil, fmt.Errorf("invalid interpolation format in %q: unclosed ${", s)
			}
			expr := s[i+2 : i+2+end]
			v, missing, err := expand(expr, lookup)
			if err != nil {
				return "", nil, fmt.Errorf("invalid interpolation format in %q: %w", s, err)
			}
			if missing != "" {
				unset = append(unset, missing)
			}
			b.WriteString(v)
			i += 2 + end
		case isNameByte(next, true):
			j := i + 1
			for j < len(s) && isNameByte(s[j], j == i+1) {
				j++
			}
			name := s[i+1 : j]
			v, ok := lookup(name)
			if !ok {
				unset = append(unset, name)
			}
			b.WriteString(v)
			i = j - 1
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), unset, nil
}

// expand is one ${...}: NAME, NAME:-default, NAME-default, NAME:?message
// or NAME?message. Defaults are
// taken literally (compose would interpolate nested ones; labels rarely
// nest them).
func expand(expr string, lookup func(string) (string, bool)) (value, missing string, err error) {
	name, def, op := expr, "", ""
	if i := strings.IndexAny(expr, ":-?"); i >= 0 {
		name = expr[:i]
		switch rest := expr[i:]; {
		case strings.HasPrefix(rest, ":-"):
			op, def = ":-", rest[2:]
		case strings.HasPrefix(rest, "-"):
			op, def = "-", rest[1:]
		case strings.HasPrefix(rest, ":?"):
			op, def = ":?", rest[2:]
		default:
			op, def = "?", rest[1:]
		}
	}
	if name == "" || !isName(name) {
		return "", "", fmt.Errorf("${%s}: %q is not a variable name", expr, name)
	}
	v, ok := lookup(name)
	switch {
	case op == ":-" && v == "", op == "-" && !ok:
		return def, "", nil
	case op == ":?" && v == "", op == "?" && !ok:
		return "", "", fmt.Errorf("required variable %s is missing a value: %s", name, def)
	case !ok && op == "":
		return "", name, nil
	}
	return v, "", nil
}

func isName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i], i == 0) {
			return false
		}
	}
	return s != ""
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}
