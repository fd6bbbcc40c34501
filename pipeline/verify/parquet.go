package verify

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"
)

// scanParquet scans a Parquet file: its key/value metadata, the names of
// its columns, and every value of every column chunk of every row group.
func (sc *scan) scanParquet(rep *fileReport, r io.ReaderAt, size int64) error {
	pf, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return err
	}
	meta := pf.Metadata()
	mk := sc.d.detectAll([]byte(meta.CreatedBy))
	for _, kv := range meta.KeyValueMetadata {
		mk |= sc.d.detectAll([]byte(kv.Key)) | sc.d.detectAll([]byte(kv.Value))
	}
	rep.add("file metadata", mk)

	cols := pf.Schema().Columns()
	labels := make([]string, len(cols))
	for i, path := range cols {
		name := strings.Join(path, ".")
		if k := sc.d.detectAll([]byte(name)); k != 0 {
			n := strconv.Itoa(i + 1)
			rep.add("schema, column #"+n, k)
			labels[i] = "column #" + n
		} else {
			labels[i] = "column " + strconv.Quote(name)
		}
	}

	buf := make([]parquet.Value, 1024)
	for g, rg := range pf.RowGroups() {
		for c, cc := range rg.ColumnChunks() {
			label := "column #" + strconv.Itoa(c+1)
			if c < len(labels) {
				label = labels[c]
			}
			prefix := "row group " + strconv.Itoa(g) + ", " + label + ", row "
			if err := sc.scanColumnChunk(rep, prefix, cc, buf); err != nil {
				return errors.New(strings.TrimSuffix(prefix, ", row ") + ": " + err.Error())
			}
		}
	}
	return nil
}

// valueClass says how the values of a column are checked.
type valueClass int

const (
	classSkip    valueClass = iota // BOOLEAN, INT96: nothing to find
	classText                      // strings: every detector
	classBinary                    // untyped BYTE_ARRAY: every detector if valid UTF-8, else digits only
	classInt                       // INT32, INT64: identifiers as decimal numbers
	classFloat                     // FLOAT, DOUBLE: identifiers if integral
	classSecrets                   // FIXED_LEN_BYTE_ARRAY (UUID pseudonyms): secrets only
)

func classify(t parquet.Type, haveSecrets bool) valueClass {
	switch t.Kind() {
	case parquet.ByteArray:
		if isTextual(t) {
			return classText
		}
		return classBinary
	case parquet.Int32, parquet.Int64:
		return classInt
	case parquet.Float, parquet.Double:
		return classFloat
	case parquet.FixedLenByteArray:
		if haveSecrets {
			return classSecrets
		}
	}
	return classSkip
}

// isTextual reports whether a BYTE_ARRAY column is annotated as text
// (STRING, ENUM or JSON, or the legacy UTF8 converted type).
func isTextual(t parquet.Type) bool {
	if lt := t.LogicalType(); lt != nil {
		switch lt.Value.(type) {
		case *format.StringType, *format.EnumType, *format.JsonType:
			return true
		}
	}
	if ct := t.ConvertedType(); ct != nil {
		switch *ct {
		case deprecated.UTF8, deprecated.Enum, deprecated.Json:
			return true
		}
	}
	return false
}

// scanColumnChunk reads every value of one column chunk. Rows are counted
// from 0 within the row group: a value with repetition level 0 starts a
// new row.
func (sc *scan) scanColumnChunk(rep *fileReport, prefix string, cc parquet.ColumnChunk, buf []parquet.Value) error {
	class := classify(cc.Type(), len(sc.d.secrets) > 0)
	if class == classSkip {
		return nil
	}
	pages := cc.Pages()
	defer pages.Close()
	row := int64(-1)
	d := sc.d
	for {
		p, err := pages.ReadPage()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		vr := p.Values()
		for {
			n, err := vr.ReadValues(buf)
			for _, v := range buf[:n] {
				if v.RepetitionLevel() == 0 {
					row++
				}
				if v.IsNull() {
					continue
				}
				sc.stats.Values++
				var k kinds
				switch class {
				case classText:
					b := v.ByteArray()
					k = d.detect(b, 0, len(b), modeText)
				case classBinary:
					b := v.ByteArray()
					m := modeText
					if !utf8.Valid(b) {
						m = modeDigits
					}
					k = d.detect(b, 0, len(b), m)
				case classInt:
					if v.Kind() == parquet.Int32 {
						k = d.detectInt(int64(v.Int32()))
					} else {
						k = d.detectInt(v.Int64())
					}
				case classFloat:
					if v.Kind() == parquet.Float {
						k = d.detectFloat(float64(v.Float()))
					} else {
						k = d.detectFloat(v.Double())
					}
				case classSecrets:
					b := v.ByteArray()
					k = d.detect(b, 0, len(b), modeSecrets)
				}
				if k != 0 {
					rep.add(prefix+strconv.FormatInt(row, 10), k)
				}
			}
			if err == io.EOF {
				break
			}
			if err == nil && n == 0 {
				err = io.ErrNoProgress
			}
			if err != nil {
				parquet.Release(p)
				return err
			}
		}
		parquet.Release(p)
	}
}
