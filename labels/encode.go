package labels

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/traefik/paerser/parser"
	"github.com/traefik/paerser/types"
)

// Encode writes a controller as the labels that declare it, keys in lower
// camel case as the documentation spells them. Like paerser's own Encode
// it leaves zero values out, so a face or volume whose every field is zero
// is lost; env entries are always written. Decode(Encode(c)) gives c back
// for every controller that validates and has no such all-zero entry.
//
// paerser's parser.Encode does not round-trip these types: it emits the
// `label:"-"` Name, and a types.Duration as nanoseconds, which paerser then
// decodes as seconds.
func Encode(c *Controller) map[string]string {
	out := make(map[string]string)
	encodeValue(out, Root, reflect.ValueOf(c))
	return out
}

var durationType = reflect.TypeOf(types.Duration(0))

func encodeValue(out map[string]string, key string, v reflect.Value) {
	if v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.Bool {
		out[key] = strconv.FormatBool(v.Elem().Bool()) // an optional bool: false is a value
		return
	}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Type() == durationType {
		if d := time.Duration(v.Int()); d != 0 {
			out[key] = d.String()
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if f.IsExported() && f.Tag.Get(parser.TagLabel) != "-" {
				encodeValue(out, key+"."+fieldKey(f), v.Field(i))
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			elem := v.MapIndex(k)
			if elem.Kind() == reflect.String {
				out[key+"."+k.String()] = elem.String() // env: an empty value is a value
				continue
			}
			encodeValue(out, key+"."+k.String(), elem)
		}
	case reflect.String:
		if v.String() != "" {
			out[key] = v.String()
		}
	case reflect.Bool:
		if v.Bool() {
			out[key] = "true"
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() != 0 {
			out[key] = strconv.FormatInt(v.Int(), 10)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() != 0 {
			out[key] = strconv.FormatUint(v.Uint(), 10)
		}
	case reflect.Float32, reflect.Float64:
		if v.Float() != 0 {
			out[key] = strconv.FormatFloat(v.Float(), 'g', -1, v.Type().Bits())
		}
	default:
		// No field of the controller types has another kind; a new one
		// must be taught here (TestSampleRoundTrip fails until it is).
		panic("labels.Encode: cannot encode " + v.Type().String() + " at " + key)
	}
}
