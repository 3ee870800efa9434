// Package keyfile reads the small key files tinyforge is given (the secret
// key of TINYFORGE_SECRET_KEY_FILE, the controller keys of
// --controller-key-file) and decodes a 256-bit key written as text. Its
// errors name the file and the shape of what is wrong, never a key. It
// imports no tinyforge package, so that secrets and labelsig, which must
// not import each other, share it.
package keyfile

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// Read returns the content of the key file at path, refusing a file larger
// than max bytes (a key file is small: a larger one is the wrong file).
// Errors begin with what ("secret key file") and, once the file is open,
// its path.
func Read(path, what string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s %s: larger than %d bytes: not a key", what, path, max)
	}
	return data, nil
}

// ErrLength is Decode's error for text of neither key length; callers say
// which lengths they accept.
var ErrLength = errors.New("neither 64 hexadecimal nor 44 base64 characters")

// Decode returns the 32-byte key text writes as 64 hexadecimal characters
// (openssl rand -hex 32) or as the standard base64 of 32 bytes, 44
// characters (openssl rand -base64 32); the two are told apart by length.
// text must be trimmed already. An error describes the shape of text,
// never its content.
func Decode(text string) ([]byte, error) {
	switch len(text) {
	case 64:
		if b, err := hex.DecodeString(text); err == nil {
			return b, nil
		}
		return nil, errors.New("64 characters but not hexadecimal")
	case 44:
		if b, err := base64.StdEncoding.DecodeString(text); err == nil && len(b) == 32 {
			return b, nil
		}
		return nil, errors.New("44 characters but not the base64 of 32 bytes")
	}
	return nil, ErrLength
}
