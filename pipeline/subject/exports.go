package subject

import (
	"errors"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/ingest"
	"github.com/gallra/gallra/pipeline/source"
	"github.com/gallra/gallra/transforms/identity"
	"github.com/gallra/gallra/transforms/pseudonym"
	"golang.org/x/text/unicode/norm"
)

// ExportFile is a raw export still on disk, in a source's inbox or in the
// done folder.
type ExportFile struct {
	Source string `json:"source"`
	// Path is the file's path, with any path component that looks
	// identifying withheld.
	Path string `json:"path"`
	// Reason says why a file could not be scanned ("" if it was).
	Reason string `json:"reason,omitempty"`
}

// exportScan is what scanning the raw exports found.
type exportScan struct {
	scanned     int
	holding     []ExportFile // files holding any of the persons
	unscannable []ExportFile
}

// scanExports reads every export waiting in a source's inbox and every one
// kept in the done folder (after_ingest = keep or move), with the source's
// schema and the readers ingest uses, pseudonymises each identifier as
// ingest does and notes the files that hold any of the request's persons.
// It changes nothing: deleting those files is for the operator.
func scanExports(job *config.Job, q *Request, pz *pseudonym.Pseudonymizer, ref time.Time) (*exportScan, error) {
	out := &exportScan{}
	for _, src := range job.Sources {
		dirs := []string{src.Inbox, filepath.Join(job.Done, src.Name)}
		for _, dir := range dirs {
			files, err := ingest.InboxFiles(dir)
			if err != nil {
				return nil, err
			}
			for _, path := range files {
				ef := ExportFile{Source: src.Name, Path: displayPath(path, ref)}
				hit, reason := scanExport(src, path, q, pz, ref)
				switch {
				case reason != "":
					ef.Reason = reason
					out.unscannable = append(out.unscannable, ef)
				case hit:
					out.scanned++
					out.holding = append(out.holding, ef)
				default:
					out.scanned++
				}
			}
		}
	}
	return out, nil
}

// scanExport reports whether the export at path holds any of the persons,
// or the reason it could not be read.
func scanExport(src *config.Source, path string, q *Request, pz *pseudonym.Pseudonymizer, ref time.Time) (hit bool, reason string) {
	in, err := source.Open(path, source.Options{})
	if err != nil {
		return false, fileReason(err)
	}
	defer in.Close()
	col, ok := identifierColumn(src, in.Header())
	if !ok {
		return false, "schema_drift"
	}
	if col < 0 {
		return false, "" // a schema without an identifier column holds no one this request can name
	}
	in.Select([]int{col})
	for {
		row, err := in.Next()
		if err == io.EOF {
			return false, ""
		}
		if err != nil {
			if _, ok := errors.AsType[*source.RowError](err); ok {
				continue
			}
			return false, fileReason(err)
		}
		if len(row.Fields) == 0 {
			continue
		}
		id, err := identity.Parse(row.Fields[0], ref)
		if err != nil || (id.Kind != identity.Personnummer && id.Kind != identity.Samordningsnummer) {
			continue
		}
		p := [16]byte(pz.Pseudonym(id.Kind.String(), id.Canonical))
		if _, ok := q.lineOf(&p); ok {
			return true, ""
		}
	}
}

// identifierColumn returns the header index of the source's identifier
// column (-1 if its schema has none). A file whose header drifted from the
// schema (rejected by the night, so still in the inbox) is still scanned
// when exactly one header cell names the identifier column; ok is false
// when none or several do.
func identifierColumn(src *config.Source, header []string) (col int, ok bool) {
	if b, err := src.Schema.Bind(header); err == nil {
		pos, has := b.Pos["identifier"]
		if !has {
			return -1, true
		}
		return b.Select[pos], true
	}
	c, has := src.Schema.Column("identifier")
	if !has {
		return -1, true
	}
	col = -1
	want := norm.NFC.String(strings.TrimSpace(c.Name))
	for i, h := range header {
		if strings.EqualFold(norm.NFC.String(strings.TrimSpace(h)), want) {
			if col >= 0 {
				return -1, false
			}
			col = i
		}
	}
	return col, col >= 0
}

func fileReason(err error) string {
	if fe, ok := errors.AsType[*source.FileError](err); ok && fe.Reason != "" {
		return fe.Reason
	}
	return source.ReasonUnreadable
}

// displayPath is path with any component that looks identifying withheld.
func displayPath(path string, ref time.Time) string {
	parts := strings.Split(filepath.ToSlash(path), "/")
	for i, p := range parts {
		if looksIdentifying(p, ref) {
			parts[i] = "[name withheld: looks identifying]"
		}
	}
	return strings.Join(parts, "/")
}
