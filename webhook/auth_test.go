package webhook

import "testing"

func TestCheckBearer(t *testing.T) {
	const token = "s3cret-token"
	tests := []struct {
		header, token string
		want          bool
	}{
		{"Bearer s3cret-token", token, true},
		{"bearer s3cret-token", token, true},
		{"BEARER  s3cret-token", token, true},
		{"Bearer s3cret-toke", token, false},
		{"Bearer s3cret-token2", token, false},
		{"Bearer S3CRET-TOKEN", token, false},
		{"s3cret-token", token, false},
		{"Basic s3cret-token", token, false},
		{"Bearers3cret-token", token, false},
		{"Token s3cret-token", token, false},
		{"", token, false},
		{"Bearer", token, false},
		{"Bearer ", token, false},
		{"Bearer ", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := CheckBearer(tt.header, tt.token); got != tt.want {
			t.Errorf("CheckBearer(%q, %q) = %v, want %v", tt.header, tt.token, got, tt.want)
		}
	}
}
