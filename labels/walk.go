package labels

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"github.com/traefik/paerser/parser"
)

// pathError says which segment of a label key is wrong, and why.
type pathError struct {
	at     int // index into the segments after the root
	reason string
}

// locate follows the segments of one label key (those after the root)
// through the Go types the way paerser will, and returns the type of the
// value the label sets. It exists to explain labels paerser rejects (paerser
// names only the offending segment, or nothing at all) and to catch the ones
// it silently ignores: a value on a struct or map node, a `label:"-"` field.
func locate(t reflect.Type, segs []string) (reflect.Type, *pathError) {
	for i, seg := range segs {
		t = deref(t)
		name, index := splitIndex(seg)
		switch t.Kind() {
		case reflect.Struct:
			f, ok := findField(t, name)
			if !ok {
				known := knownKeys(t)
				hint := didYouMean(name, known)
				if hint != "" {
					hint = ": " + hint
				}
				return nil, &pathError{i, fmt.Sprintf("unknown key %q%s (known keys here: %s)", name, hint, strings.Join(known, ", "))}
			}
			t = f.Type
			if index != "" {
				if deref(t).Kind() != reflect.Slice {
					return nil, &pathError{i, fmt.Sprintf("%q is not a list: remove %q", name, index)}
				}
				t = deref(t).Elem()
			}
		case reflect.Map:
			if index != "" {
				return nil, &pathError{i, fmt.Sprintf("brackets are for list keys only, not in the name %q", seg)}
			}
			if k := t.Elem().Kind(); k == reflect.String || k == reflect.Interface {
				// paerser joins every deeper segment into the map key.
				return t.Elem(), nil
			}
			t = t.Elem()
		default:
			if i == 0 { // the root type is a leaf: a programming error
				return nil, &pathError{0, fmt.Sprintf("%s cannot hold %q", t, seg)}
			}
			return nil, &pathError{i - 1, fmt.Sprintf("%q takes a value and has no sub-keys", segs[i-1])}
		}
	}
	t = deref(t)
	switch {
	case t.Kind() == reflect.Struct, t.Kind() == reflect.Map,
		t.Kind() == reflect.Slice && deref(t.Elem()).Kind() == reflect.Struct:
		last := segs[len(segs)-1]
		return nil, &pathError{len(segs) - 1, fmt.Sprintf("%q is a group of keys and takes no value of its own: set the keys below it (%s.<key>)", last, last)}
	}
	return t, nil
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// findField matches a segment to a field case-insensitively, as paerser
// does. Fields tagged `label:"-"` do not count: paerser would accept and
// then silently drop them.
func findField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get(parser.TagLabel) == "-" {
			continue
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if inner, ok := findField(f.Type, name); ok {
				return inner, true
			}
			continue
		}
		if strings.EqualFold(fieldKey(f), name) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// knownKeys lists the label segments a struct accepts, in field order.
func knownKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get(parser.TagLabel) == "-" {
			continue
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			keys = append(keys, knownKeys(f.Type)...)
			continue
		}
		keys = append(keys, fieldKey(f))
	}
	return keys
}

// fieldKey is the segment a field is written as in documentation and
// messages: the Go name in lower camel case (MaxInstances → maxInstances,
// CPULimit → cpuLimit, TLS → tls), or the label-slice-as-struct name.
// paerser matches it, as any casing, to the field.
func fieldKey(f reflect.StructField) string {
	if n := f.Tag.Get(parser.TagLabelSliceAsStruct); n != "" {
		return n
	}
	return lowerCamel(f.Name)
}

// lowerCamel lowercases the leading initialism of a Go name, keeping the
// capital that starts the next word.
func lowerCamel(name string) string {
	rs := []rune(name)
	n := 0
	for n < len(rs) && unicode.IsUpper(rs[n]) {
		n++
	}
	if n > 1 && n < len(rs) {
		n-- // CPULimit: the L starts "Limit"
	}
	for i := range n {
		rs[i] = unicode.ToLower(rs[i])
	}
	return string(rs)
}

// splitIndex splits "volumes[0]" into "volumes" and "[0]".
func splitIndex(seg string) (name, index string) {
	if i := strings.IndexByte(seg, '['); i > 0 && strings.HasSuffix(seg, "]") {
		return seg[:i], seg[i:]
	}
	return seg, ""
}

// checkSegment rejects what paerser cannot split safely: empty segments
// (paerser errors) and stray brackets (a segment ending in ']' without '['
// makes paerser v0.2.2 panic). The only bracket form allowed is a list
// index, name[N].
func checkSegment(seg string) string {
	if seg == "" {
		return "empty segment (two dots in a row, or a trailing dot)"
	}
	if !strings.ContainsAny(seg, "[]") {
		return ""
	}
	name, index := splitIndex(seg)
	if index == "" || strings.ContainsAny(name, "[]") || len(index) < 3 ||
		strings.Trim(index[1:len(index)-1], "0123456789") != "" {
		return fmt.Sprintf("malformed segment %q: brackets may only hold a list index, as in name[0]", seg)
	}
	return ""
}

// foldKey maps every string to one representative of its class under
// strings.EqualFold, the comparison paerser uses for segments.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		low := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			low = min(low, f)
		}
		b.WriteRune(low)
	}
	return b.String()
}
