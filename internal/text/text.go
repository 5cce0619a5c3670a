// Package text makes text that came from a container, a runtime or a
// registry safe to print on an operator's terminal.
package text

import "strings"

// Clean replaces control characters (escape sequences, CVE-2021-25743) with
// '?': whoever created a container chooses its names, labels and
// environment, and a terminal acts on what it is sent.
func Clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
