// SPDX-License-Identifier: GPL-2.0-only

package main

import (
	"fmt"
	"strings"
	"testing"
)

// orderProblems says where order (the variant at a place of a
// repetition) breaks the balance over one block of orderBlock(n)
// repetitions: each repetition drains every variant once, each variant
// drains at every place equally often, and each runs right before each
// other one as often as right after it (the same count for every ordered
// pair); for an odd n, every even prefix of the block is even-handed.
func orderProblems(n int, order func(rep, slot int) int) []string {
	var bad []string
	block := orderBlock(n)
	at := make([][]int, n)
	next := make([][]int, n)
	for i := range at {
		at[i] = make([]int, n)
		next[i] = make([]int, n)
	}
	for r := 0; r < block; r++ {
		seen := make([]bool, n)
		for s := 0; s < n; s++ {
			v := order(r, s)
			if v < 0 || v >= n || seen[v] {
				return append(bad, fmt.Sprintf("n %d repetition %d: place %d drains %d twice or out of range", n, r, s, v))
			}
			seen[v] = true
			at[v][s]++
			if s > 0 {
				next[order(r, s-1)][v]++
			}
		}
		if n%2 == 0 || r%2 == 0 {
			continue
		}
		for a := 0; a < n; a++ {
			for b := 0; b < n; b++ {
				if next[a][b] != next[b][a] {
					bad = append(bad, fmt.Sprintf("n %d, %d repetitions: %d before %d %d times, after it %d",
						n, r+1, a, b, next[a][b], next[b][a]))
				}
			}
		}
	}
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			if at[a][b] != block/n {
				bad = append(bad, fmt.Sprintf("n %d: variant %d at place %d %d times, not %d", n, a, b, at[a][b], block/n))
			}
			if a != b && next[a][b] != next[0][1] {
				bad = append(bad, fmt.Sprintf("n %d: %d right before %d %d times, 0 before 1 %d times",
					n, a, b, next[a][b], next[0][1]))
			}
		}
	}
	return bad
}

func TestOrderBalanced(t *testing.T) {
	for n := 1; n <= 16; n++ {
		n := n
		for _, p := range orderProblems(n, func(r, s int) int { return orderAt(n, r, s) }) {
			t.Error(p)
		}
	}
}

// The check's own check: what the benchmark did before (a rotation), an
// odd count's rows all run forwards, and an odd count's forward rows
// first and backward rows after (balanced over the whole block, not in
// its even prefixes: helper-283's case) each fail it.
func TestOrderProblemsFound(t *testing.T) {
	rotation := func(r, s int) int { return (s + r) % 6 }
	if len(orderProblems(6, rotation)) == 0 {
		t.Error("a rotation of 6 passed the balance check")
	}
	forwards := func(r, s int) int { return orderAt(5, 2*(r%5), s) }
	if len(orderProblems(5, forwards)) == 0 {
		t.Error("5 variants, every row forwards, passed the balance check")
	}
	// Repetitions 0-4 the rows forwards, 5-9 the same rows backwards.
	late := func(r, s int) int { return orderAt(5, 2*(r%5)+r/5, s) }
	bad := orderProblems(5, late)
	if len(bad) == 0 {
		t.Error("5 variants, forward rows first, passed the balance check")
	}
	for _, b := range bad {
		if !strings.Contains(b, "repetitions:") {
			t.Errorf("5 variants, forward rows first: a whole-block problem, not only prefixes: %s", b)
		}
	}
}
