module mpmcring.dev/go

go 1.19
