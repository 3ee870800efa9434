package labels

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// AllowsTag reports whether the workload's tags pattern lets tag deploy.
// An empty pattern allows every tag; an invalid one allows none (Validate
// reports it), so a typo never opens the gate.
func (w *Workload) AllowsTag(tag string) bool {
	match, err := tagMatcher(w.Tags)
	return err == nil && match(tag)
}

// globChars are the characters a tag glob may hold: those of a tag plus
// path.Match's syntax. Anything else could never match a tag.
const globChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-*?[]^!\\"

// tagMatcher compiles a tags pattern. The rule, one for both forms: the
// pattern matches the whole tag.
//   - /re/ is a Go regular expression (RE2 syntax), implicitly anchored.
//   - anything else is a comma-separated list of path.Match globs, any of
//     which may match; blanks around the commas are ignored.
func tagMatcher(pattern string) (func(string) bool, error) {
	if pattern == "" {
		return func(string) bool { return true }, nil
	}
	if len(pattern) >= 2 && pattern[0] == '/' && pattern[len(pattern)-1] == '/' {
		expr := pattern[1 : len(pattern)-1]
		if _, err := regexp.Compile(expr); err != nil {
			return nil, fmt.Errorf("%q is not a valid regular expression: %v", pattern, err)
		}
		re := regexp.MustCompile(`^(?:` + expr + `)$`)
		return re.MatchString, nil
	}
	var globs []string
	for glob := range strings.SplitSeq(pattern, ",") {
		glob = strings.TrimSpace(glob)
		if glob == "" {
			return nil, fmt.Errorf("%q has an empty glob: write globs separated by single commas, e.g. v*,stable", pattern)
		}
		if i := strings.IndexFunc(glob, func(r rune) bool { return !strings.ContainsRune(globChars, r) }); i >= 0 {
			return nil, fmt.Errorf("%q can never match: %q holds %q, and tags hold only letters, digits, '_', '.' and '-' (write a regular expression as /re/)", pattern, glob, glob[i:i+1])
		}
		if _, err := path.Match(glob, ""); err != nil {
			return nil, fmt.Errorf("%q is not a valid glob: %q is malformed (unclosed [ or trailing \\)", pattern, glob)
		}
		globs = append(globs, glob)
	}
	return func(tag string) bool {
		for _, g := range globs {
			if ok, _ := path.Match(g, tag); ok {
				return true
			}
		}
		return false
	}, nil
}
