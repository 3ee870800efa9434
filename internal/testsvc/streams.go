package testsvc

import "strings"

// Interleaved reports whether out (lines ending in "\n") is exactly the
// lines of the given streams, each stream's lines in their order, however
// the streams interleave: what Docker keeps of a container's stdout and
// stderr, written by one copier per stream.
func Interleaved(out string, streams ...[]string) bool {
	next := make([]int, len(streams))
	lines, ok := strings.CutSuffix(out, "\n")
	if !ok {
		return false
	}
	for _, line := range strings.Split(lines, "\n") {
		matched := false
		for i, s := range streams {
			if next[i] < len(s) && s[next[i]] == line {
				next[i]++
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	for i, s := range streams {
		if next[i] != len(s) {
			return false
		}
	}
	return true
}
