// Package barestream is the bare Go stream that gallra's ingest is measured
// against: encoding/csv, one reused HMAC-SHA-256 over the identifier, and a
// parquet-go writer with a 16-byte binary pseudonym, the measure label and the
// start and end dates as text. It does no validation, no quarantine, no
// minimisation and no merge: it is what a programmer would write in an
// afternoon, and so the figure gallra must stay close to.
//
// It reads the CSV exports of an inbox laid out as gallra generate writes it
// (<inbox>/<schema name>/<file>.csv), finding its four columns by the header
// names the built-in schema declares. XLSX exports are skipped, and so is a
// file whose header lacks one of the four columns (a drifted file).
package barestream

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/csv"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/text/encoding/charmap"

	"github.com/gallra/gallra/schemas"
)

// Row is one output row.
type Row struct {
	Pseudonym [16]byte `parquet:"pseudonym,uuid"`
	Measure   string   `parquet:"measure"`
	Start     string   `parquet:"start"`
	End       string   `parquet:"end"`
}

// Result counts what Run did.
type Result struct {
	Rows    int // data rows written
	Files   int // CSV files streamed
	Skipped int // files skipped: XLSX, unknown schema, or header without the four columns
}

// Run streams every CSV export under inbox into one Parquet file per export
// in outDir, keyed with key.
func Run(inbox, outDir string, key []byte) (Result, error) {
	var res Result
	files, err := filepath.Glob(filepath.Join(inbox, "*", "*"))
	if err != nil {
		return res, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return res, err
	}
	mac := hmac.New(sha256.New, key)
	for i, f := range files {
		if !strings.HasSuffix(f, ".csv") {
			if strings.HasSuffix(f, ".xlsx") {
				res.Skipped++
			}
			continue
		}
		s, err := schemas.Lookup(filepath.Base(filepath.Dir(f)))
		if err != nil {
			res.Skipped++
			continue
		}
		out := filepath.Join(outDir, fmt.Sprintf("%03d.parquet", i))
		n, ok, err := streamFile(f, out, s, mac)
		if err != nil {
			return res, fmt.Errorf("barestream: %s: %w", filepath.Base(f), err)
		}
		if !ok {
			res.Skipped++
			continue
		}
		res.Files++
		res.Rows += n
	}
	return res, nil
}

// streamFile writes one export; ok is false when its header lacks a column.
func streamFile(path, out string, s *schemas.Schema, mac hash.Hash) (n int, ok bool, err error) {
	in, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer in.Close()
	var r io.Reader = bufio.NewReaderSize(in, 1<<16)
	if s.Encoding == "windows-1252" {
		r = charmap.Windows1252.NewDecoder().Reader(r)
	}
	cr := csv.NewReader(r)
	if s.Delimiter != "" {
		cr.Comma = []rune(s.Delimiter)[0]
	}
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return 0, false, err
	}
	pos := map[string]int{}
	for i, h := range header {
		pos[strings.TrimPrefix(h, "\ufeff")] = i
	}
	var idx [4]int
	for i, holds := range []string{schemas.HoldsIdentifier, schemas.HoldsMeasure, schemas.HoldsPeriodStart, schemas.HoldsPeriodEnd} {
		c, found := s.Column(holds)
		if !found {
			return 0, false, nil
		}
		p, found := pos[c.Name]
		if !found {
			return 0, false, nil
		}
		idx[i] = p
	}
	maxIdx := max(idx[0], idx[1], idx[2], idx[3])

	f, err := os.Create(out)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	w := parquet.NewGenericWriter[Row](f, parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(1<<20))
	batch := make([]Row, 0, 1024)
	var sum []byte
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			continue // a broken row: no validation here, drop it
		}
		if len(rec) <= maxIdx {
			continue
		}
		mac.Reset()
		io.WriteString(mac, rec[idx[0]])
		sum = mac.Sum(sum[:0])
		var row Row
		copy(row.Pseudonym[:], sum)
		row.Measure, row.Start, row.End = rec[idx[1]], rec[idx[2]], rec[idx[3]]
		batch = append(batch, row)
		if len(batch) == cap(batch) {
			if _, err := w.Write(batch); err != nil {
				return n, true, err
			}
			n += len(batch)
			batch = batch[:0]
		}
	}
	if _, err := w.Write(batch); err != nil {
		return n, true, err
	}
	n += len(batch)
	if err := w.Close(); err != nil {
		return n, true, err
	}
	return n, true, f.Close()
}
