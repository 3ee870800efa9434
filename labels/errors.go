package labels

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/traefik/paerser/types"
)

// Error is one problem with one label. Every error this package returns is
// an *Error or a join of them, so a caller can log the key and the workload
// as fields (errors.As) and a user can find the label to fix.
type Error struct {
	// Key is the full label key, e.g. tinyforge.workloads.web.port.
	Key string
	// Value is the label's value, empty when the label is missing. Env
	// values are never copied here or into Reason: they may be secrets.
	Value string
	// Workload is the name of the workload the label belongs to, empty for
	// controller-level labels such as tinyforge.enable.
	Workload string
	// Reason says what is wrong, e.g. `"80a" is not a valid int`.
	Reason string
	// Err is the underlying cause (a paerser or strconv error), if any.
	Err error
}

func (e *Error) Error() string {
	key := e.Key
	if strings.ContainsFunc(key, func(r rune) bool { return !strconv.IsGraphic(r) || r == ' ' }) {
		key = strconv.Quote(key)
	}
	return key + ": " + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

// explain turns paerser's error for a single label into an *Error that says
// what was expected. leaf is the type the label decodes into (from locate).
func explain(l label, leaf reflect.Type, err error) *Error {
	e := &Error{Key: l.key, Value: l.value, Workload: l.workload, Err: err}
	var num *strconv.NumError
	switch {
	case leaf == reflect.TypeOf(types.Duration(0)):
		e.Reason = fmt.Sprintf("%q is not a valid duration (use 90s, 5m, 1h30m, or a number of seconds)", l.value)
	case leaf != nil && leaf.Kind() == reflect.Bool:
		e.Reason = fmt.Sprintf("%q is not a valid bool (use true or false)", l.value)
	case errors.As(err, &num) && errors.Is(num.Err, strconv.ErrRange):
		e.Reason = fmt.Sprintf("%q is out of range for %s", l.value, typeWord(leaf))
	case errors.As(err, &num):
		e.Reason = fmt.Sprintf("%q is not a valid %s", l.value, typeWord(leaf))
	default:
		e.Reason = fmt.Sprintf("cannot decode %q: %v", l.value, err)
	}
	return e
}

// typeWord names a leaf type in messages.
func typeWord(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "int"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "unsigned int"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		return "comma-separated list of " + typeWord(t.Elem())
	default:
		return t.Kind().String()
	}
}

// sortErrors orders errors by label key so output is stable across runs
// (label maps have no order).
func sortErrors(errs []error) {
	key := func(err error) string {
		var e *Error
		if errors.As(err, &e) {
			return e.Key + "\x00" + e.Reason
		}
		return err.Error()
	}
	slices.SortStableFunc(errs, func(a, b error) int { return cmp.Compare(key(a), key(b)) })
}
