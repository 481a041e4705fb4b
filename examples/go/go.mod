module mpmcring.dev/examples/go

go 1.19

require mpmcring.dev/go v0.0.0

// The package from this repository: no network needed to build.
replace mpmcring.dev/go => ../../go
