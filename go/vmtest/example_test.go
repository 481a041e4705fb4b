// SPDX-License-Identifier: GPL-2.0-only

//go:build mpmcring_vm

package vmtest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"mpmcring.dev/go/mpmcring"
)

// The Go example (examples/go, in the guest's /bin as the harness built
// it) prints every record as one JSON line, payload bytes intact, with
// one consumer goroutine or several.
func TestExampleJSONLines(t *testing.T) {
	tool, err := exec.LookPath("mpmcring-jsonl")
	if err != nil {
		t.Fatalf("the Go example is not in PATH (the harness builds it into the guest's /bin): %v", err)
	}
	// A ring of its own, empty until we write: the producers never start.
	startLG(t, "gjson", "size=65536 threads=1 count=1 autostart=0")
	r, err := mpmcring.Open("gjson")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, consumers := range []string{"1", "3"} {
		// Records carry at least one byte: the shortest is one newline.
		want := []string{"hello", "\n", "a \"quoted\"\nline", string([]byte{0, 1, 2, 0xff})}
		for i := 1; i <= 40; i++ {
			want = append(want, strings.Repeat("x", i*37))
		}
		if err := r.Writev([]byte(want[0]), []byte(want[1]), []byte(want[2]), []byte(want[3])); err != nil {
			t.Fatal(err)
		}
		for _, w := range want[4:] {
			if _, err := r.Write([]byte(w)); err != nil {
				t.Fatal(err)
			}
		}
		out, err := exec.Command(tool, "-ring", "gjson", "-consumers", consumers).Output()
		if err != nil {
			t.Fatalf("%s -consumers %s: %v", tool, consumers, err)
		}
		var got []string
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			var l struct {
				Len   int    `json:"len"`
				Prio  string `json:"prio"`
				Flags int    `json:"flags"`
				Data  string `json:"data_b64"`
			}
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("not a JSON line: %q: %v", sc.Text(), err)
			}
			data, err := base64.StdEncoding.DecodeString(l.Data)
			if err != nil || len(data) != l.Len || l.Prio != "normal" || l.Flags != mpmcring.RecFromUser {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			got = append(got, string(data))
		}
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("-consumers %s printed %d records, want %d", consumers, len(got), len(want))
			for i := range got {
				if i >= len(want) || got[i] != want[i] {
					t.Errorf("sorted record %d: %.40q, want %.40q", i, got[i], want[min(i, len(want)-1)])
					break
				}
			}
		}
	}
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}
