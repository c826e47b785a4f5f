module github.com/alidade/alidade/sdk/go

go 1.26
