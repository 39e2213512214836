package shapes

import "strings"

// closest returns the candidate a mistyped name most likely meant, or "" if
// none is near enough to be a useful hint. It prefers, in order: a
// case-insensitive match, a candidate the input is a prefix of ("int" →
// "integer"), then the smallest edit distance within a small budget. Ties
// go to the candidate listed first, so callers pass sorted candidates.
func closest(input string, candidates []string) string {
	in := strings.ToLower(input)
	if in == "" {
		return ""
	}
	for _, c := range candidates {
		if strings.ToLower(c) == in {
			return c
		}
	}
	if len(in) >= 3 {
		best := ""
		for _, c := range candidates {
			if strings.HasPrefix(strings.ToLower(c), in) && (best == "" || len(c) < len(best)) {
				best = c
			}
		}
		if best != "" {
			return best
		}
	}
	// One edit for short names, two for longer ones: beyond that a "did
	// you mean" is more often confusing than helpful.
	budget := 1
	if len([]rune(in)) > 5 {
		budget = 2
	}
	best, bestDist := "", budget+1
	for _, c := range candidates {
		if d := editDistance(in, strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b,
// counted in runes: Levenshtein plus swaps of neighbours, the most common
// typo ("titel" for "title") costing one edit rather than two.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// Closest is closest for other packages' did-you-means (config.yaml keys).
func Closest(input string, candidates []string) string { return closest(input, candidates) }
