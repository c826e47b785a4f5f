package server

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/alidade/alidade/internal/auth"
	"github.com/alidade/alidade/internal/meta"
)

// bootstrapStore is what first start needs of the store.
type bootstrapStore interface {
	Store
	Setting(ctx context.Context, name string) (string, error)
	SetSetting(ctx context.Context, name, value string) error
}

// Bootstrap is what the first start created, to be shown once.
type Bootstrap struct {
	// FirstStart is true when this start created the default project.
	FirstStart bool
	Project    *meta.Project
	Keys       map[meta.KeyKind]string // secrets, on first start only
	// RootKey is the generated root key, on first start without ALIDADE_ROOT_KEY.
	RootKey string
	// RootHash is the hash of the root key in force.
	RootHash []byte
}

// SettingRootHash is the setting holding the hex SHA-256 of the root key.
const SettingRootHash = "root_key_sha256"

const (
	settingInitialized = "initialized"
	settingRootHash    = SettingRootHash
)

// Prepare resolves the root key and, on a first start, creates project
// "default" (id 1) with one key of each kind. envRoot is ALIDADE_ROOT_KEY; when
// set it is the root key, otherwise the stored root hash is, and a first start
// without it generates one.
func Prepare(ctx context.Context, st bootstrapStore, envRoot string) (b *Bootstrap, err error) {
	if ex, ok := st.(exclusiveStore); ok {
		// Nodes of a cluster starting together: one makes the default
		// project, the others find it made.
		err = ex.Exclusive(ctx, "bootstrap", func(ctx context.Context) error {
			b, err = prepare(ctx, st, envRoot)
			return err
		})
		return b, err
	}
	return prepare(ctx, st, envRoot)
}

// exclusiveStore is a store several nodes share, with a lock they share.
type exclusiveStore interface {
	Exclusive(ctx context.Context, name string, fn func(ctx context.Context) error) error
}

func prepare(ctx context.Context, st bootstrapStore, envRoot string) (*Bootstrap, error) {
	b := &Bootstrap{}
	stored, err := st.Setting(ctx, settingRootHash)
	if err != nil {
		return nil, err
	}
	switch {
	case envRoot != "":
		if len(envRoot) < 16 {
			return nil, fmt.Errorf("ALIDADE_ROOT_KEY is %d characters; use at least 16", len(envRoot))
		}
		b.RootHash = auth.Hash(envRoot)
	case stored != "":
		if b.RootHash, err = hex.DecodeString(stored); err != nil {
			return nil, fmt.Errorf("stored root key hash: %w", err)
		}
	}
	done, err := st.Setting(ctx, settingInitialized)
	if err != nil {
		return nil, err
	}
	if done == "" {
		b.FirstStart = true
		if b.RootHash == nil {
			secret, _, hash := auth.NewSecret("root")
			b.RootKey, b.RootHash = secret, hash
		}
		p, keys, err := CreateProjectWithKeys(ctx, st, nil, "default")
		if err != nil {
			return nil, fmt.Errorf("create default project: %w", err)
		}
		b.Project, b.Keys = p, keys
	}
	if hex.EncodeToString(b.RootHash) != stored {
		if err := st.SetSetting(ctx, settingRootHash, hex.EncodeToString(b.RootHash)); err != nil {
			return nil, err
		}
	}
	if b.FirstStart {
		if err := st.SetSetting(ctx, settingInitialized, "1"); err != nil {
			return nil, err
		}
	}
	return b, nil
}
