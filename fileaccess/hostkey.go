package fileaccess

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// loadOrCreateHostKey reads the host key at path, generating an ed25519 key
// there first if there is none. The key must survive restarts: a new one
// would make every client refuse to connect with a host key warning.
func loadOrCreateHostKey(path string) (ssh.Signer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createHostKey(path); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		// Read back what is on disk, even when another process won the race
		// to create it, so that both use the same key.
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read host key: %w", err)
	}
	key, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("parse host key %s: %w", path, err)
	}
	return key, nil
}

func createHostKey(path string) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "berth sftp host key")
	if err != nil {
		return fmt.Errorf("encode host key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create host key directory: %w", err)
	}
	// Write to a temporary file and link it in place so that a crash never
	// leaves a truncated key behind, and O_EXCL-like semantics (Link fails
	// when path exists) keep a concurrent creator's key.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".hostkey-*")
	if err != nil {
		return fmt.Errorf("write host key: %w", err)
	}
	defer os.Remove(tmp.Name()) // CreateTemp made it 0600
	if err := pem.Encode(tmp, block); err != nil {
		tmp.Close()
		return fmt.Errorf("write host key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write host key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write host key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("install host key: %w", err)
	}
	return nil
}
