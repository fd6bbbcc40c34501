package source

import (
	"bytes"
	"io"
	"os"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// TestOffset: the offset counts the file's own bytes, whatever the encoding
// does to their number, grows as rows are read and ends at the file's size.
func TestOffset(t *testing.T) {
	var text bytes.Buffer
	text.WriteString("namn;ort\n")
	for i := range 20000 { // about 16 sniff windows
		text.WriteString("Åsa Öberg;Malmö")
		text.WriteByte(byte('0' + i%10))
		text.WriteString("\n")
	}
	utf16 := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder()
	for _, tc := range []struct {
		name string
		enc  transform.Transformer // nil: UTF-8 as is
	}{
		{"utf-8", nil},
		{"windows-1252", charmap.Windows1252.NewEncoder()}, // fewer bytes than the UTF-8 text
		{"utf-16le", utf16}, // more bytes than the UTF-8 text
	} {
		t.Run(tc.name, func(t *testing.T) {
			content := text.Bytes()
			if tc.enc != nil {
				var err error
				if content, _, err = transform.Bytes(tc.enc, content); err != nil {
					t.Fatal(err)
				}
			}
			path := writeFile(t, "x.csv", content)
			r, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Encoding() != tc.name {
				t.Fatalf("read as %s", r.Encoding())
			}
			size := int64(len(content))
			first := r.Offset()
			if first <= 0 || first >= size {
				t.Fatalf("offset after the header %d of %d bytes", first, size)
			}
			last, rows, rising := first, 0, 0
			for {
				_, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				rows++
				off := r.Offset()
				if off < last {
					t.Fatalf("offset went back from %d to %d at row %d", last, off, rows)
				}
				if off > last {
					rising++
				}
				last = off
			}
			if rows != 20000 || last != size {
				t.Errorf("%d rows, offset %d at the end of %d bytes", rows, last, size)
			}
			// It moves in steps of the read buffer (one sniff window).
			if want := size/sniffSize - 1; int64(rising) < want {
				t.Errorf("offset rose %d times over %d bytes, want at least %d", rising, size, want)
			}
		})
	}
}

func TestOffsetXLSX(t *testing.T) {
	path := writeXLSX(t)
	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		if _, err := r.Next(); err != nil {
			break
		}
		if r.Offset() != 0 {
			t.Fatalf("XLSX offset %d, documented as 0", r.Offset())
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}
