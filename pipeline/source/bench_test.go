package source

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

// benchFile returns a 100,000-row export in the given encoding: the shape of
// a participant-system export, with Swedish letters in every row.
func benchFile(b *testing.B, enc string) (path string, size int64) {
	b.Helper()
	var buf bytes.Buffer
	buf.WriteString("Personnummer;Förnamn;Efternamn;Åtgärd;Startdatum;Slutdatum;Handläggare;Kommentar\r\n")
	for i := range 100_000 {
		fmt.Fprintf(&buf, "1990%04d-%04d;Åsa;Öberg-Ärlig;Arbetsträning;2024-%02d-01;2024-%02d-28;hl%03d;\"Möte; uppföljning\"\r\n",
			i%1231, i%10000, 1+i%12, 1+(i+3)%12, i%500)
	}
	content := buf.Bytes()
	if enc == encCP1252 {
		var err error
		if content, err = charmap.Windows1252.NewEncoder().Bytes(content); err != nil {
			b.Fatal(err)
		}
	}
	return writeFile(b, "bench.csv", content), int64(len(content))
}

// BenchmarkCSV reads a 100k-row file end to end, selecting four of the eight
// columns as a source schema would; "+digest" also hashes it as ingest does
// (Options.Digest).
func BenchmarkCSV(b *testing.B) {
	for _, enc := range []string{encUTF8, encCP1252} {
		for _, digest := range []bool{false, true} {
			name := enc
			if digest {
				name += "+digest"
			}
			b.Run(name, func(b *testing.B) { benchCSV(b, enc, digest) })
		}
	}
}

func benchCSV(b *testing.B, enc string, digest bool) {
	path, size := benchFile(b, enc)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		r, err := Open(path, Options{Digest: digest})
		if err != nil {
			b.Fatal(err)
		}
		if r.Encoding() != enc {
			b.Fatalf("Encoding() = %q, want %q", r.Encoding(), enc)
		}
		r.Select([]int{0, 3, 4, 5})
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 100_000 {
			b.Fatalf("read %d rows", n)
		}
		if digest {
			if _, got, err := r.(Digester).Digest(); err != nil || got != size {
				b.Fatalf("Digest: %d bytes, %v; want %d", got, err, size)
			}
		}
		r.Close()
	}
}
