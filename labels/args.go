package labels

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Args is a command line written in one label value: the command and
// entrypoint overrides. paerser would split a []string at every comma,
// which breaks `sh -c "a, b"`, so the value is kept whole and split here,
// the two ways a compose or Dockerfile user already writes commands:
//
//   - a JSON array of strings (exec form): ["sh", "-c", "echo a, b"];
//     a value starting with '[' is always read this way;
//   - otherwise shell-style words: blanks separate words, single quotes
//     keep everything literally, double quotes group words and honour
//     \" \\ \$ and \`, a backslash outside quotes escapes the next
//     character. Nothing is expanded: no $VAR, no ~, no globs.
//
// Empty means no override.
type Args string

// ErrArgs is wrapped by every error of Args.Split.
var ErrArgs = errors.New("malformed command line")

// Split returns the words of a. It returns nil for an empty a (no
// override), and an empty non-nil slice for the JSON array [], which
// clears the image's entrypoint.
func (a Args) Split() ([]string, error) {
	s := strings.TrimSpace(string(a))
	if s == "" {
		return nil, nil
	}
	if strings.HasPrefix(s, "[") {
		words := []string{}
		if err := json.Unmarshal([]byte(s), &words); err != nil {
			return nil, fmt.Errorf("%w: not a JSON array of strings: %v", ErrArgs, err)
		}
		return words, nil
	}
	return splitWords(s)
}

// splitWords splits a shell-style command line into words. Every special
// character is ASCII, so it walks bytes and copies the rest unchanged.
func splitWords(s string) ([]string, error) {
	var (
		words  []string
		word   strings.Builder
		inWord bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
			continue
		case '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf("%w: trailing backslash", ErrArgs)
			}
			i++
			if s[i] == '\n' { // backslash-newline continues the line
				continue
			}
			word.WriteByte(s[i])
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("%w: unterminated single quote", ErrArgs)
			}
			word.WriteString(s[i+1 : i+1+end])
			i += 1 + end
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
					if s[i] == '\n' {
						continue
					}
				}
				word.WriteByte(s[i])
			}
			if i == len(s) {
				return nil, fmt.Errorf("%w: unterminated double quote", ErrArgs)
			}
		default:
			word.WriteByte(c)
		}
		inWord = true
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}
