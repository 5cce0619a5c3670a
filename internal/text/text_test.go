package text

import "testing"

func TestClean(t *testing.T) {
	if got := Clean("a\x1b]0;pwned\x07b\u009bc"); got != "a?]0;pwned?b?c" {
		t.Errorf("Clean = %q", got)
	}
	if got := Clean("café/taka-1"); got != "café/taka-1" {
		t.Errorf("Clean changed printable text: %q", got)
	}
}
