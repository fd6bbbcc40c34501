// Package rotate rotates the pseudonym key of a lake without breaking the
// linkage of its rows: it adds a generation to the key file's chain and
// carries every pseudonymised row of the lake forward to it (package
// pseudonym documents the construction), so that a person ingested before
// the rotation and again after it has one pseudonym.
//
// A rotation has three steps, each safe to interrupt:
//
//  1. the extended chain is written to KEYFILE.next (keyfile.StartRotation);
//     the key file and the lake are untouched;
//  2. every pseudonymised row is rewritten (pseudonym, record_key, key_id) in
//     one lake commit of kind "key-rotate", which also records the new key
//     ID in the manifest ([Lake]);
//  3. KEYFILE.next is renamed over KEYFILE (keyfile.FinishRotation).
//
// After a crash in step 1 or 2 the lake is still at the old generation and
// nightly runs go on with the old key file; after a crash between 2 and 3 the
// lake is at the new generation and gallra run refuses the old key file
// (keyfile.CheckLake). Either way [Run] with Options.Resume finishes the
// rotation from where it stopped.
package rotate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/gallra/gallra/pipeline/crashpoint"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/lakeop"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// Kind is the run-log kind of the lake commit of a rotation.
const Kind = "key-rotate"

// Options for [Run] and [Lake].
type Options struct {
	// Passphrase supplies the key file's passphrase, if it is encrypted;
	// the new key file is encrypted under the same one.
	Passphrase keyfile.Passphrase
	// Random is the source of the new secret (crypto/rand if nil).
	Random io.Reader
	// Resume finishes an interrupted rotation instead of starting one.
	Resume bool
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// Logger gets progress (slog.Default if nil).
	Logger *slog.Logger
}

// Result says what a rotation did.
type Result struct {
	From string // the key ID (current generation) before, "" if unknown
	To   string // the key ID after
	// Generation is the number of the new current generation.
	Generation int
	// Log is the lake commit's run-log entry, nil if the lake needed no
	// rewrite (a resumed rotation whose lake was already rewritten).
	Log *lakeop.Log
	// Steps lists what was done, in order, for the operator.
	Steps []string
}

// Run rotates the key in the key file at keyPath and rewrites the lake at
// lakeDir, whose pseudonyms are of domain (the job's [key] domain). With
// opt.Resume it finishes an interrupted rotation instead: it rewrites the
// lake if KEYFILE.next is ahead of it, and replaces the key file.
func Run(ctx context.Context, keyPath, lakeDir, domain string, opt Options) (*Result, error) {
	if keyPath == "" {
		return nil, errors.New("a key rotation needs a key file (--key or [key] file in the configuration), not " + keyfile.EnvVar)
	}
	pass, done := opt.Passphrase.Once()
	defer done()
	opt.Passphrase = pass
	if opt.Resume {
		return resume(ctx, keyPath, lakeDir, domain, opt)
	}
	if _, err := os.Lstat(keyfile.NextPath(keyPath)); err == nil {
		return nil, fmt.Errorf("%s exists: a key rotation is under way; finish it with `gallra key rotate --resume`", keyfile.NextPath(keyPath))
	}
	old, err := keyfile.LoadKey(keyPath, pass)
	if err != nil {
		return nil, err
	}
	m, err := lake.ReadManifest(lakeDir)
	if err != nil {
		return nil, err
	}
	if err := keyfile.CheckLake(old, m.KeyID); err != nil {
		return nil, fmt.Errorf("not rotating: %w", err)
	}
	res := &Result{From: old.ID()}
	_, next, err := keyfile.StartRotation(keyPath, pass, opt.Random)
	if err != nil {
		return nil, err
	}
	res.To, res.Generation = next.ID(), next.Generation()
	res.Steps = append(res.Steps, fmt.Sprintf("wrote key generation %d (%s) to %s", next.Generation(), next.ID(), keyfile.NextPath(keyPath)))
	crashpoint.Hit("rotate-next-written")
	if res.Log, err = Lake(ctx, lakeDir, next, domain, opt); err != nil {
		return res, fmt.Errorf("rewriting the lake: %w (the lake is unchanged; run `gallra key rotate --resume` to try again)", err)
	}
	res.Steps = append(res.Steps, fmt.Sprintf("rewrote the lake to %s (generation %d)", next.ID(), res.Log.Generation))
	crashpoint.Hit("rotate-lake-rewritten")
	if err := keyfile.FinishRotation(keyPath); err != nil {
		return res, fmt.Errorf("the lake is rewritten, but the key file was not replaced: %w; run `gallra key rotate --resume`", err)
	}
	res.Steps = append(res.Steps, fmt.Sprintf("replaced %s with %s", keyPath, keyfile.NextPath(keyPath)))
	return res, nil
}

// resume finishes an interrupted rotation.
func resume(ctx context.Context, keyPath, lakeDir, domain string, opt Options) (*Result, error) {
	nextPath := keyfile.NextPath(keyPath)
	m, err := recovered(lakeDir)
	if err != nil {
		return nil, err
	}
	old, err := keyfile.LoadKey(keyPath, opt.Passphrase)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(nextPath); errors.Is(err, fs.ErrNotExist) {
		// No rotation under way in the key files. The lake may still be
		// behind a key file that was replaced by hand.
		res := &Result{From: m.KeyID, To: old.ID(), Generation: old.Generation()}
		if m.KeyID == "" || m.KeyID == old.ID() {
			res.Steps = append(res.Steps, "nothing to resume: no "+nextPath+" and the lake is at the key's current generation")
			return res, nil
		}
		if old.GenerationOf(m.KeyID) == 0 {
			return nil, fmt.Errorf("nothing to resume (no %s), and %w", nextPath, keyfile.CheckLake(old, m.KeyID))
		}
		if res.Log, err = Lake(ctx, lakeDir, old, domain, opt); err != nil {
			return res, fmt.Errorf("rewriting the lake: %w", err)
		}
		res.Steps = append(res.Steps, fmt.Sprintf("rewrote the lake to %s", old.ID()))
		return res, nil
	}
	next, err := keyfile.LoadKey(nextPath, opt.Passphrase)
	if err != nil {
		return nil, err
	}
	// The next file must extend the key file, and hold the lake's generation.
	if ids := old.KeyIDs(); len(ids) >= next.Generation() || !slices.Equal(ids, next.KeyIDs()[:len(ids)]) {
		return nil, fmt.Errorf("%s does not extend the chain of %s (%s, generation %d): it is not from a rotation of this key file; move it away", nextPath, keyPath, old.ID(), old.Generation())
	}
	if m.KeyID != "" && next.GenerationOf(m.KeyID) == 0 {
		return nil, fmt.Errorf("%s does not hold the lake's key %s: %w", nextPath, m.KeyID, keyfile.CheckLake(next, m.KeyID))
	}
	res := &Result{From: m.KeyID, To: next.ID(), Generation: next.Generation()}
	if m.KeyID != next.ID() {
		if res.Log, err = Lake(ctx, lakeDir, next, domain, opt); err != nil {
			return res, fmt.Errorf("rewriting the lake: %w", err)
		}
		res.Steps = append(res.Steps, fmt.Sprintf("rewrote the lake to %s (generation %d)", next.ID(), res.Log.Generation))
	} else {
		res.Steps = append(res.Steps, "the lake was already rewritten to "+next.ID())
	}
	crashpoint.Hit("rotate-lake-rewritten")
	if err := keyfile.FinishRotation(keyPath); err != nil {
		return res, err
	}
	res.Steps = append(res.Steps, fmt.Sprintf("replaced %s with %s", keyPath, nextPath))
	return res, nil
}

// recovered returns the lake's manifest after finishing any commit a crash
// interrupted (a rotation's commit among them), under the lake's lock.
func recovered(lakeDir string) (*lake.Manifest, error) {
	lock, err := lake.AcquireLock(lakeDir, lake.NewRunID(time.Now().UTC()))
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	m, _, err := lake.Recover(lakeDir)
	if err != nil {
		return nil, fmt.Errorf("recovering the lake: %w", err)
	}
	return m, nil
}

// Lake rewrites every pseudonymised row of the lake at lakeDir that an older
// generation of key made — its pseudonym (if any), record key and key ID —
// to key's current generation, in one lakeop commit of kind "key-rotate"
// that also records key.ID() as the lake's key ID. Rows already at the
// current generation are left alone; a row of a key the chain does not hold
// stops the rotation (nothing is committed). The run-log entry counts the
// rows carried forward (rows_rotated) and names the key IDs, never values.
func Lake(ctx context.Context, lakeDir string, key pseudonym.Key, domain string, opt Options) (*lakeop.Log, error) {
	pz, err := pseudonym.NewPseudonymizer(key, domain)
	if err != nil {
		return nil, err
	}
	fn := func(ctx context.Context, tx *lakeop.Tx) error {
		lakeID := tx.Base.KeyID
		if lakeID != "" && key.GenerationOf(lakeID) == 0 {
			return keyfile.CheckLake(key, lakeID)
		}
		tx.Log.Details = map[string]any{"from_key_id": lakeID, "to_key_id": key.ID(), "to_generation": key.Generation()}
		tx.KeyID = key.ID()
		_, changed, err := tx.Rewrite(nil, func(p lake.Partition, r lake.Row) (lake.Row, bool, error) {
			if err := ctx.Err(); err != nil {
				return r, true, err
			}
			from := r.KeyID
			if from == "" {
				from = lakeID // an unlinked row without a key ID: the lake's generation
			}
			if from == key.ID() || from == "" {
				return r, true, nil
			}
			if key.GenerationOf(from) == 0 {
				return r, true, fmt.Errorf("partition %s: a row of key %s, which this key (%s) does not hold: the lake mixes keys; nothing was changed", p, from, key.ID())
			}
			if r.Pseudonym != nil {
				v, err := pz.Advance(from, pseudonym.Pseudonym(*r.Pseudonym))
				if err != nil {
					return r, true, err
				}
				np := [16]byte(v)
				r.Pseudonym = &np
			}
			rk, err := pz.AdvanceRecordKey(from, pseudonym.Pseudonym(r.RecordKey))
			if err != nil {
				return r, true, err
			}
			r.RecordKey = [16]byte(rk)
			r.KeyID = key.ID()
			return r, true, nil
		})
		tx.Log.Count("rows_rotated", changed)
		return err
	}
	return lakeop.Do(ctx, lakeDir, fn, lakeop.Options{Kind: Kind, KeyID: key.ID(), Now: opt.Now, Logger: opt.Logger})
}
