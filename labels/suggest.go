package labels

import (
	"fmt"
	"strings"
)

// suggest returns the candidates a mistyped word most likely meant: those
// within edit distance 2 (transpositions count once), else those sharing a
// prefix of at least 3 letters with it, case-insensitively. Short words
// allow fewer edits (one for 3-4 letters, none below), so "x" suggests nothing.
func suggest(word string, candidates []string) []string {
	lw := strings.ToLower(word)
	best, bestScore := []string(nil), 3
	for _, c := range candidates {
		lc := strings.ToLower(c)
		score := 3 // a prefix match ranks after every edit-distance match
		if d := editDistance(lw, lc); d <= 2 && d <= (len(lw)-1)/2 {
			score = d
		} else if !(len(lw) >= 3 && strings.HasPrefix(lc, lw) || len(lc) >= 3 && strings.HasPrefix(lw, lc)) {
			continue
		}
		switch {
		case score < bestScore || best == nil:
			best, bestScore = []string{c}, score
		case score == bestScore:
			best = append(best, c)
		}
	}
	return best
}

// didYouMean formats suggestions as `did you mean "a" or "b"?`, or "".
func didYouMean(word string, candidates []string) string {
	s := suggest(word, candidates)
	if len(s) == 0 {
		return ""
	}
	quoted := make([]string, len(s))
	for i, c := range s {
		quoted[i] = fmt.Sprintf("%q", c)
	}
	if len(quoted) == 1 {
		return "did you mean " + quoted[0] + "?"
	}
	return "did you mean " + strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1] + "?"
}

// editDistance is the optimal string alignment distance between a and b
// (insertions, deletions, substitutions and adjacent transpositions).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 { // no label key is that long: skip the work
		return max(len(ra), len(rb))
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
