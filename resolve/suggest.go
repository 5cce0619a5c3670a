package resolve

import (
	"slices"
	"strings"

	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

// maxSuggestions bounds a "did you mean": more is a listing, which
// `ctr-enter ls` does better.
const maxSuggestions = 3

// suggest returns what word was probably meant, closest first, among the
// names of ts: a name that word begins (a prefix, which match refuses for
// names) or one a few typing mistakes away. Generated IDs are left out
// (their prefixes match already), and so are PIDs. A name that several
// targets bear is suggested as each one's explicit form, since the name
// alone would be ambiguous. Nothing close, nothing suggested.
func suggest(ts []*Target, word string) []string {
	type candidate struct {
		name     string
		distance int
		targets  []*Target
	}
	byName := map[string]*candidate{}
	var cands []*candidate
	for _, t := range ts {
		if t.Runtime == PID {
			continue
		}
		names := slices.Clone(t.Names)
		if !runtimes.GeneratedID(t.ID) {
			names = append(names, t.ID)
		}
		for _, n := range names {
			c := byName[n]
			if c == nil {
				d, ok := closeness(word, n)
				if !ok {
					continue
				}
				c = &candidate{name: n, distance: d}
				byName[n] = c
				cands = append(cands, c)
			}
			if !slices.Contains(c.targets, t) {
				c.targets = append(c.targets, t)
			}
		}
	}
	slices.SortFunc(cands, func(a, b *candidate) int {
		if a.distance != b.distance {
			return a.distance - b.distance
		}
		return strings.Compare(a.name, b.name)
	})
	var out []string
	for _, c := range cands {
		if len(c.targets) == 1 {
			out = append(out, text.Clean(c.name))
			continue
		}
		var refs []string
		for _, t := range c.targets {
			refs = append(refs, t.String())
		}
		slices.Sort(refs)
		out = append(out, refs...)
	}
	out = slices.Compact(out)
	if len(out) > maxSuggestions {
		out = out[:maxSuggestions]
	}
	return out
}

// closeness says whether name is close enough to word to suggest, and how
// close (0 closest). A name that begins with word is closest: that is
// the prefix a user typed expecting it to match. Otherwise the edit
// distance, allowed to grow with the word: one mistake in a short word,
// up to three in a long one, so that "tk" does not suggest "ux".
func closeness(word, name string) (int, bool) {
	if len(word) >= 2 && strings.HasPrefix(name, word) {
		return 0, true
	}
	limit := min(1+len(word)/5, 3)
	d := editDistance(word, name, limit)
	return d, d <= limit
}

// editDistance is the number of single-byte insertions, deletions,
// substitutions and swaps of two neighbours (the optimal string alignment
// distance: "tkaa" is one swap from "taka") that turn a into b, or
// limit+1 if their lengths alone differ by more than limit.
func editDistance(a, b string, limit int) int {
	if abs(len(a)-len(b)) > limit {
		return limit + 1
	}
	// Three rows of the table: i-2, i-1 and i.
	older := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], older[j-2]+1)
			}
		}
		older, prev, cur = prev, cur, older
	}
	return prev[len(b)]
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
