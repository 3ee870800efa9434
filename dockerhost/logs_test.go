package dockerhost

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

func frame(kind byte, s string) []byte {
	h := make([]byte, 8)
	h[0] = kind
	binary.BigEndian.PutUint32(h[4:], uint32(len(s)))
	return append(h, s...)
}

// TestDemuxLogs: multiplexed frames become lines in order with their
// stream and timestamp, a line split over frames is joined, a last line
// without newline is kept; a TTY stream is read raw.
func TestDemuxLogs(t *testing.T) {
	var in []byte
	in = append(in, frame(1, "2026-01-02T03:04:05.123456789Z hello\n")...)
	in = append(in, frame(2, "2026-01-02T03:04:06Z oops\n")...)
	in = append(in, frame(1, "2026-01-02T03:04:07Z par")...)
	in = append(in, frame(1, "tial\r\n2026-01-02T03:04:08Z last")...)
	var got []LogLine
	if err := demuxLogs(bytes.NewReader(in), func(l LogLine) error { got = append(got, l); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []LogLine{
		{time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC), "stdout", "hello"},
		{time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC), "stderr", "oops"},
		{time.Date(2026, 1, 2, 3, 4, 7, 0, time.UTC), "stdout", "partial"},
		{time.Date(2026, 1, 2, 3, 4, 8, 0, time.UTC), "stdout", "last"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) || got[i].Stream != want[i].Stream || got[i].Text != want[i].Text {
			t.Errorf("line %d: %+v, want %+v", i, got[i], want[i])
		}
	}

	got = nil
	raw := "2026-01-02T03:04:05Z tty line\nno timestamp\n"
	if err := demuxLogs(bytes.NewReader([]byte(raw)), func(l LogLine) error { got = append(got, l); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Text != "tty line" || got[1].Text != "no timestamp" || !got[1].Time.IsZero() {
		t.Fatalf("tty: %+v", got)
	}
	if err := demuxLogs(bytes.NewReader(nil), func(LogLine) error { t.Fatal("line from nothing"); return nil }); err != nil {
		t.Fatal(err)
	}
}
