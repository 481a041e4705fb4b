module mpmcring.dev/bench/go

go 1.19

require (
	github.com/cilium/ebpf v0.9.1
	mpmcring.dev/go v0.0.0
)

require golang.org/x/sys v0.0.0-20210906170528-6f6e22806c34 // indirect

replace mpmcring.dev/go => ../../go

// Debian's packages (golang-github-cilium-ebpf-dev, golang-golang-x-sys-dev):
// the benchmark builds offline.
replace (
	github.com/cilium/ebpf => /usr/share/gocode/src/github.com/cilium/ebpf
	golang.org/x/sys => /usr/share/gocode/src/golang.org/x/sys
)
