package source

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// TestDigest: a Reader opened with Options.Digest hashes exactly the file's
// bytes — before any decoding, a byte order mark and a "sep=" line included —
// however far it was read: to the end, to a file error, or not past the
// header; without the option it is no Digester.
func TestDigest(t *testing.T) {
	big := append([]byte("\uFEFFsep=;\nnamn;text\n"), padRows(60_000)...) // several sniff windows
	cp1252, err := charmap.Windows1252.NewEncoder().Bytes([]byte("Namn;Ort\nÅsa;Göteborg\n\"Öberg\";Malmö\n"))
	if err != nil {
		t.Fatal(err)
	}
	utf16, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte("a\tb\r\nx\tRené\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	malformed := []byte("a;b\n1;2\n3;x\"y\n" + string(padRows(20_000)))
	truncated := append(append([]byte("a;b\n"), padRows(20_000)...), "3;\"open"...)
	tests := []struct {
		name    string
		ext     string
		content []byte
		next    int // calls of Next before Digest; -1 to the end
		enc     string
	}{
		{"utf-8, bom and sep line, to the end", ".csv", big, -1, encUTF8},
		{"utf-8, header only", ".csv", big, 0, encUTF8},
		{"utf-8, a few rows", ".csv", big, 3, encUTF8},
		{"windows-1252 decoded field by field", ".csv", cp1252, -1, encCP1252},
		{"utf-16 decoded as a stream", ".txt", utf16, -1, encUTF16LE},
		{"malformed record midway", ".csv", malformed, -1, encUTF8},
		{"truncated at the end", ".csv", truncated, -1, encUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "x"+tt.ext, tt.content)
			r, err := Open(path, Options{Digest: true})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Encoding() != tt.enc {
				t.Fatalf("encoding %s, want %s", r.Encoding(), tt.enc)
			}
			if tt.next < 0 {
				drain(t, r)
			} else {
				for range tt.next {
					if _, err := r.Next(); err != nil {
						t.Fatal(err)
					}
				}
			}
			d, ok := r.(Digester)
			if !ok {
				t.Fatalf("%T opened with Digest is no Digester", r)
			}
			sum, n, err := d.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if want := sha256.Sum256(tt.content); sum != want || n != int64(len(tt.content)) {
				t.Errorf("Digest = %x, %d bytes; want %x, %d bytes", sum, n, want, len(tt.content))
			}
		})
	}

	r, err := Open(writeFile(t, "x.csv", big), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.(Digester); ok {
		t.Error("a Reader opened without Digest is a Digester")
	}
	if !bytes.HasPrefix(big, bomUTF8) {
		t.Fatal("the first case lost its byte order mark")
	}
}
