package ingest

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/source"
	"github.com/gallra/gallra/pipeline/synth"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// BenchmarkConvert measures convert, the path of one row from its selected
// fields to a lake entry (identifier, measure, period, municipality, the two
// keyed HMACs, minimisation, retention), per source, over rows the generator
// made: the part of a night's CPU that is gallra's own, without reading,
// merging or writing. It reports allocations per row.
func BenchmarkConvert(b *testing.B) {
	dir := b.TempDir()
	ref := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	inbox := filepath.Join(dir, "inbox")
	if _, err := synth.Generate(inbox, synth.Options{Rows: 20000, Seed: 1, Reference: ref}); err != nil {
		b.Fatal(err)
	}
	jobPath := filepath.Join(dir, "gallra.toml")
	body := "lake = \"lake\"\ninbox = \"inbox\"\nreference_date = \"2026-11-23\"\n" + synth.Sources
	if err := os.WriteFile(jobPath, []byte(body), 0o644); err != nil {
		b.Fatal(err)
	}
	job, err := config.Load(jobPath)
	if err != nil {
		b.Fatal(err)
	}
	key, err := pseudonym.NewKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		b.Fatal(err)
	}
	pz, err := pseudonym.NewPseudonymizer(key, job.Key.Domain)
	if err != nil {
		b.Fatal(err)
	}
	r := &run{job: job, ref: ref, rep: &report.Run{RunID: "bench"}, base: &lake.Manifest{}}
	for _, src := range job.Sources {
		files, _ := filepath.Glob(filepath.Join(inbox, src.Name, "*.csv"))
		for _, path := range files {
			fr, rows := convertInput(b, r, src, path)
			if fr == nil {
				continue // a drifted file, which the night rejects
			}
			b.Run(src.Name, func(b *testing.B) {
				var sl slabs
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					fr.convert(pz, &sl, rows[i%len(rows)])
				}
			})
		}
	}
}

// convertInput reads a CSV export's rows as a night reads them, with their
// fields copied, and the fileRun that converts them; nil if the header does
// not bind.
func convertInput(b *testing.B, r *run, src *config.Source, path string) (*fileRun, []source.Row) {
	in, err := source.Open(path, source.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	bind, err := src.Schema.Bind(in.Header())
	if err != nil {
		return nil, nil
	}
	in.Select(bind.Select)
	var rows []source.Row
	for {
		row, err := in.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			continue // a malformed record, quarantined by the night
		}
		fields := make([]string, len(row.Fields)) // the reader reuses its own
		for i, f := range row.Fields {
			fields[i] = strings.Clone(f)
		}
		row.Fields = fields
		rows = append(rows, row)
	}
	return newFileRun(r, src, bind, filepath.Base(path)), rows
}
