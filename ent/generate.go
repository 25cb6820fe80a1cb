// Package ent is the generated ent client; the schema is in ./schema.
package ent

//go:generate sh -c "cd .. && go run -mod=mod ./ent/entc.go"
