package source

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var digitRun = regexp.MustCompile(`[0-9]{6,}`)

// FuzzCSV feeds arbitrary bytes to the CSV reader as an export file: it must
// never panic or loop, every error must be one of the package's typed errors,
// and no error may repeat a run of six or more digits from the input (a
// personnummer in a broken row must not reach a log line).
func FuzzCSV(f *testing.F) {
	for _, seed := range []string{
		"Personnummer;Namn\n19121212-1212;Anna\n",
		"\xef\xbb\xbf\"Personnummer\",\"Namn\"\n\"19121212-1212\",\"Anna \"\"A\"\"\"\n",
		"sep=,\nPersonnummer,Namn\n191212121212,Ann\xe5\n",
		"a\tb\n1\t2\t3\n\"unterminated\n",
		"Personnummer;Namn\n19121212-1212;An\"na\n850301-2380;Bo\n",
		"",
		"\xff\xfeP\x00n\x00r\x00\n\x00",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "fuzz.csv")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		runs := digitRun.FindAllString(string(data), -1)
		check := func(err error) {
			var fe *FileError
			var re *RowError
			if !errors.As(err, &fe) && !errors.As(err, &re) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			msg := err.Error()
			for _, r := range runs {
				if strings.Contains(msg, r) {
					t.Fatalf("error repeats input digits: %q", msg)
				}
			}
		}
		r, err := Open(p, Options{})
		if err != nil {
			check(err)
			return
		}
		defer r.Close()
		for i := 0; i <= len(data)+1; i++ {
			row, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				check(err)
				var fe *FileError
				if errors.As(err, &fe) {
					return
				}
				continue
			}
			if row.Line < 1 || row.NumFields < 0 {
				t.Fatalf("row line %d fields %d", row.Line, row.NumFields)
			}
		}
		t.Fatal("reader did not reach the end")
	})
}
