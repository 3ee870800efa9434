// Package testlog holds what tests use to read the logs of code that logs
// from several goroutines: Buffer, a log destination safe for concurrent
// writers. It is imported only by tests, and imports no tinyforge package
// (unlike testsvc, it starts nothing and pulls in no client).
package testlog

import (
	"bytes"
	"sync"
)

// Buffer collects log output from concurrent writers (a zerolog logger
// shared by goroutines); its zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
