package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/testlake"
	"github.com/gallra/gallra/transforms/identity"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// TestCrashDuringKeyRotation kills `gallra key rotate` at every step (after
// the next key file is written, at each point of the lake commit, after the
// lake is rewritten) and checks that `gallra key rotate --resume` then leaves
// the same state as an uninterrupted rotation: a key file of two
// generations, every row carried forward to the new one, the manifest's key
// ID the new one, no next key file, and nightly runs working again.
func TestCrashDuringKeyRotation(t *testing.T) {
	bin := crashBinary(t)
	l := testlake.Build(t, testlake.HandChecked, "")
	setup := filepath.Dir(l.Dir)
	if err := keyfile.Write(filepath.Join(setup, "k.key"), l.Key, nil); err != nil {
		t.Fatal(err)
	}
	points := []string{"rotate-next-written", "publish-before-manifest", "manifest-before-rename",
		"publish-after-manifest", "publish-rename", "publish-delete", "publish-before-clear", "rotate-lake-rewritten"}
	for _, point := range points {
		t.Run(point, func(t *testing.T) {
			dir := t.TempDir()
			copyTree(t, setup, dir)
			cfg, key := filepath.Join(dir, "gallra.toml"), filepath.Join(dir, "k.key")
			rot := func(crashAt string, extra ...string) exit {
				cmd := exec.Command(bin, append([]string{"key", "rotate", "--config", cfg, "--key", key}, extra...)...)
				cmd.Env = append(os.Environ(), "GALLRA_CRASH_AT="+crashAt)
				p := &proc{cmd: cmd}
				cmd.Stderr = &p.stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				return p.wait()
			}
			mustBeKilled(t, rot(point))
			if e := rot("", "--resume"); e.code != 0 {
				t.Fatalf("resume after a crash at %s: %v\n%s", point, e, tail(e.stderr))
			}
			k, err := keyfile.Load(key, nil)
			if err != nil {
				t.Fatal(err)
			}
			if k.Generation() != 2 || k.KeyIDs()[0] != l.Key.ID() {
				t.Fatalf("key file after resume: generation %d, first %s", k.Generation(), k.KeyIDs()[0])
			}
			if _, err := os.Stat(keyfile.NextPath(key)); err == nil {
				t.Error("next key file left behind")
			}
			lakeDir := filepath.Join(dir, "lake")
			m, err := lake.ReadManifest(lakeDir)
			if err != nil {
				t.Fatal(err)
			}
			if m.KeyID != k.ID() || m.Pending != nil {
				t.Errorf("manifest key ID %s (pending %v), want %s", m.KeyID, m.Pending != nil, k.ID())
			}
			pz, _ := pseudonym.NewPseudonymizer(k, "lake")
			id, _ := identity.Parse("850301-2380", crashRef)
			p1 := [16]byte(pz.Pseudonym(id.Kind.String(), id.Canonical))
			rows, p1rows := 0, 0
			for _, f := range m.Files {
				err := lake.ReadFile(filepath.Join(lakeDir, filepath.FromSlash(f.Path)), func(r lake.Row) error {
					rows++
					if r.KeyID != k.ID() {
						t.Errorf("row with key ID %s after resume", r.KeyID)
					}
					if r.Pseudonym != nil && *r.Pseudonym == p1 {
						p1rows++
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if rows != len(testlake.HandChecked) || p1rows != 3 {
				t.Errorf("%d rows, %d of P1 under the current pseudonym; want %d and 3", rows, p1rows, len(testlake.HandChecked))
			}
			checkLeftovers(t, lakeDir)
			// The night goes on with the rotated key.
			writeAMEa(t, filepath.Join(dir, "inbox", "amea", "next.csv"), "19850301-2380", "Praktik", "2026-01-05")
			cmd := exec.Command(bin, "run", "--quiet", "--config", cfg, "--key", key)
			p := &proc{cmd: cmd}
			cmd.Stderr = &p.stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if e := p.wait(); e.code != 0 || strings.Contains(e.stderr, "resume") {
				t.Errorf("run after the resumed rotation: %v\n%s", e, tail(e.stderr))
			}
		})
	}
}
