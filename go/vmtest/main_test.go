// SPDX-License-Identifier: GPL-2.0-only

//go:build mpmcring_vm

// Package vmtest holds the Go package's tests that need the mpmcring
// module: they run inside the VM harness's guests (tests/harness), built
// as a static test binary (CGO_ENABLED=0 go test -c -tags mpmcring_vm).
//
// The guests' init runs every program in /tests and reads TAP from it; Go
// test output is not TAP. So the binary, started plainly, starts itself
// again with -test.v and turns the child's "--- PASS/FAIL/SKIP" lines into
// TAP, every other line into a "#" comment. Started with
// MPMCRING_GO_HELPER set, it is a helper process of a test instead.
package vmtest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const childEnv = "MPMCRING_GO_TAP_CHILD"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(runHelper(h))
	}
	if os.Getenv(childEnv) == "" && !hasTestFlags() {
		os.Exit(tapAdapter(os.Stdout))
	}
	os.Exit(m.Run())
}

// hasTestFlags: run by hand with go test flags, the binary speaks Go.
func hasTestFlags() bool {
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-test.") {
			return true
		}
	}
	return false
}

var resultRE = regexp.MustCompile(`^--- (PASS|FAIL|SKIP): (\S+) \(([0-9.]+s)\)$`)

// childTimeout leaves the guest's per-program timeout (init.sh) room to
// see the Go runtime's own timeout report, with every goroutine's stack.
func childTimeout() time.Duration {
	limit := 400
	if v, err := strconv.Atoi(os.Getenv("mpmcring_test_timeout")); err == nil && v > 0 {
		limit = v
	}
	if limit > 60 {
		limit -= 30
	}
	return time.Duration(limit) * time.Second
}

// tapAdapter runs the tests in a child and writes TAP to out. It returns
// the child's exit status.
func tapAdapter(out io.Writer) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(out, "Bail out! cannot find the test binary: %v\n", err)
		return 1
	}
	cmd := exec.Command(self, "-test.v", "-test.timeout="+childTimeout().String())
	cmd.Env = append(os.Environ(), childEnv+"=1")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	fmt.Fprintln(out, "TAP version 13")
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(out, "Bail out! cannot start the tests: %v\n", err)
		return 1
	}
	waited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		waited <- err
	}()

	n, failed := 0, 0
	running := ""
	var skipWhy string
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintf(out, "# %s\n", line)
		if strings.HasPrefix(line, "=== RUN   ") && !strings.Contains(line, "/") {
			running = strings.TrimPrefix(line, "=== RUN   ")
			skipWhy = ""
			continue
		}
		if t := strings.TrimSpace(line); strings.HasPrefix(line, "    ") && !strings.HasPrefix(t, "---") {
			skipWhy = t // the last line a test logged: a skip's reason
		}
		m := resultRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n++
		running = ""
		switch m[1] {
		case "PASS":
			fmt.Fprintf(out, "ok %d - %s\n", n, m[2])
		case "SKIP":
			fmt.Fprintf(out, "ok %d - %s # SKIP %s\n", n, m[2], skipWhy)
		default:
			failed++
			fmt.Fprintf(out, "not ok %d - %s\n", n, m[2])
		}
	}
	err = <-waited
	rc := 0
	if err != nil {
		rc = 1
		if ee, ok := err.(*exec.ExitError); ok {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Exited() {
				rc = ws.ExitStatus()
			}
		}
	}
	if rc != 0 && failed == 0 {
		// A panic, a timeout or a crash: it belongs to the test that ran.
		n++
		name := running
		if name == "" {
			name = "go-test-binary"
		}
		fmt.Fprintf(out, "not ok %d - %s # the test binary ended with status %d (panic or timeout: see above)\n", n, name, rc)
	}
	fmt.Fprintf(out, "1..%d\n", n)
	return rc
}
