package lake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gallra/gallra/pipeline/atomicfile"
	"github.com/gallra/gallra/pipeline/crashpoint"
)

// MetaDir holds the lake's own records: the manifest, the lock and the run
// log. Its name starts with '_' and it holds no Parquet files, so readers'
// globs never mistake it for data.
const MetaDir = "_gallra"

// ManifestFile is the manifest's name inside MetaDir.
const ManifestFile = "manifest.json"

// ManifestFormat names the manifest's format version.
const ManifestFormat = "gallra-lake-1"

// Manifest is the lake's table of contents and its commit point: the data
// files that make up the lake, the exports already ingested (by content
// hash), and the runs committed. A run's changes become the lake's when the
// new manifest replaces the old one by an atomic rename; files not in the
// manifest are not part of the lake and are removed by Recover.
type Manifest struct {
	Format     string     `json:"format"`
	Generation int64      `json:"generation"` // one more with every commit
	RunID      string     `json:"run_id"`     // the run that committed this generation
	Files      []FileInfo `json:"files"`      // sorted by Path
	Inputs     []Input    `json:"inputs"`     // sorted by SHA256
	Runs       []string   `json:"runs"`       // committed run IDs, oldest first
	// KeyID is the key generation the pseudonymised rows were last written
	// with (every row's key_id should be it; see keyfile.CheckLake). Empty
	// in a lake that has not recorded one.
	KeyID string `json:"key_id,omitempty"`
	// Pending is set while a commit is being applied: the renames and
	// deletions that make the data files match Files. Recover finishes them.
	Pending *Pending `json:"pending,omitempty"`
}

// Input is one export file that a committed run ingested.
type Input struct {
	SHA256 string `json:"sha256"`
	Source string `json:"source"`
	Name   string `json:"name"` // as the run named it, relative to its inbox root
	Bytes  int64  `json:"bytes"`
	Rows   int    `json:"rows_read"`
	RunID  string `json:"run_id"`
	// Reference is the reference date (YYYY-MM-DD) of the run that
	// ingested it: the day the export describes. Empty in manifests
	// written before it was recorded.
	Reference string `json:"reference_date,omitempty"`
}

// LastReference returns the latest reference date (YYYY-MM-DD) of the
// exports of source already ingested, or "" if none is recorded.
func (m *Manifest) LastReference(source string) string {
	last := ""
	for _, in := range m.Inputs {
		if in.Source == source && in.Reference > last {
			last = in.Reference
		}
	}
	return last
}

// Pending are the file operations of a commit in progress.
type Pending struct {
	Renames []Rename `json:"renames"` // staged file -> place in the lake
	Deletes []string `json:"deletes"` // superseded data files
}

// Rename moves a staged file into the lake; paths relative to the lake root.
type Rename struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// ReadManifest reads the lake's manifest. A lake without one is empty
// (generation 0), but only if it holds no data files either: data files
// without a manifest are not a gallra lake, or one whose manifest was lost,
// and ErrNoManifest says so rather than treating them as orphans.
func ReadManifest(lakeDir string) (*Manifest, error) {
	p := filepath.Join(lakeDir, MetaDir, ManifestFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		files, ferr := dataFiles(lakeDir)
		if ferr != nil {
			return nil, ferr
		}
		if len(files) > 0 {
			return nil, fmt.Errorf("%w: %s holds %d Parquet file(s) but no %s/%s", ErrNoManifest, lakeDir, len(files), MetaDir, ManifestFile)
		}
		return &Manifest{Format: ManifestFormat}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("lake: manifest %s: %w", p, err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("lake: manifest %s has format %q, this gallra reads %q", p, m.Format, ManifestFormat)
	}
	return &m, nil
}

// ErrNoManifest: the folder has data files but no manifest.
var ErrNoManifest = errors.New("lake: not a gallra lake")

// Input returns the ingested export with this content hash, if any.
func (m *Manifest) Input(sha256 string) (Input, bool) {
	i, ok := slices.BinarySearchFunc(m.Inputs, sha256, func(in Input, s string) int { return strings.Compare(in.SHA256, s) })
	if !ok {
		return Input{}, false
	}
	return m.Inputs[i], true
}

// PartitionFiles returns the manifest's files of one partition.
func (m *Manifest) PartitionFiles(p Partition) []FileInfo {
	var out []FileInfo
	for _, f := range m.Files {
		if f.Partition == p {
			out = append(out, f)
		}
	}
	return out
}

// Partitions returns the partitions that have files, in path order, of
// every table: code that handles Rows keeps those with Table == ""
// (TablePseudonymised).
func (m *Manifest) Partitions() []Partition {
	var out []Partition
	for _, f := range m.Files {
		if len(out) == 0 || out[len(out)-1] != f.Partition {
			out = append(out, f.Partition)
		}
	}
	return out
}

// TableFiles returns the manifest's files of one table, in path order.
func (m *Manifest) TableFiles(table string) []FileInfo {
	var out []FileInfo
	for _, f := range m.Files {
		if f.Partition.Table == table {
			out = append(out, f)
		}
	}
	return out
}

// Rows is the number of rows in the lake, over all its tables.
func (m *Manifest) Rows() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Rows
	}
	return n
}

// clone returns a deep copy, the start of the next generation.
func (m *Manifest) clone() *Manifest {
	c := *m
	c.Files = slices.Clone(m.Files)
	c.Inputs = slices.Clone(m.Inputs)
	c.Runs = slices.Clone(m.Runs)
	c.Pending = nil
	return &c
}

func (m *Manifest) normalise() {
	slices.SortFunc(m.Files, func(a, b FileInfo) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(m.Inputs, func(a, b Input) int { return strings.Compare(a.SHA256, b.SHA256) })
}

// writeManifest replaces the manifest atomically: a temporary file in the
// same directory, fsync, rename over the old one, fsync the directory. The
// rename is the commit point.
func writeManifest(lakeDir string, m *Manifest) error {
	dir := filepath.Join(lakeDir, MetaDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("lake: %w", err)
	}
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	err = atomicfile.Write(filepath.Join(dir, ManifestFile), append(b, '\n'), 0o640,
		func() { crashpoint.Hit("manifest-before-rename") })
	if err != nil {
		return fmt.Errorf("lake: switch manifest: %w", err)
	}
	return nil
}

// dataFiles lists the Parquet data files under the lake's partition
// directories (relative, slash-separated), skipping MetaDir and StagingDir.
func dataFiles(lakeDir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(lakeDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == lakeDir {
				return filepath.SkipAll
			}
			return err
		}
		if d.IsDir() && p != lakeDir && (d.Name() == MetaDir || d.Name() == StagingDir) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") {
			rel, err := filepath.Rel(lakeDir, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lake: listing data files: %w", err)
	}
	return out, nil
}
