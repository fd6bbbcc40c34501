package source

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// TestCP1252DecoderMatchesCharmap decodes random Windows-1252 text (mostly
// ASCII, every byte value present) with the fast decoder and with
// charmap.Windows1252, through readers that hand over one byte or a few at a
// time so that the destination fills mid-run, and wants the same UTF-8.
func TestCP1252DecoderMatchesCharmap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 50 {
		src := make([]byte, rng.IntN(5000))
		for i := range src {
			if rng.IntN(10) == 0 {
				src[i] = byte(rng.IntN(256))
			} else {
				src[i] = byte(' ' + rng.IntN(95))
			}
		}
		if trial == 0 {
			src = src[:0]
			for c := range 256 {
				src = append(src, byte(c))
			}
		}
		want, err := io.ReadAll(transform.NewReader(bytes.NewReader(src), charmap.Windows1252.NewDecoder()))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []io.Reader{bytes.NewReader(src), iotest.OneByteReader(bytes.NewReader(src)), iotest.HalfReader(bytes.NewReader(src))} {
			got, err := io.ReadAll(transform.NewReader(r, cp1252Decoder{}))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("trial %d: decoded text differs from charmap.Windows1252's (%d and %d bytes)", trial, len(got), len(want))
			}
		}
		// A small destination: Transform must stop with ErrShortDst mid-run
		// and go on where it stopped.
		var out []byte
		dst := make([]byte, 7)
		for s := src; len(s) > 0; {
			nd, ns, err := cp1252Decoder{}.Transform(dst, s, true)
			if err != nil && err != transform.ErrShortDst {
				t.Fatal(err)
			}
			if nd == 0 && ns == 0 {
				t.Fatal("no progress")
			}
			out, s = append(out, dst[:nd]...), s[ns:]
		}
		if !bytes.Equal(out, want) {
			t.Fatalf("trial %d: small destination: decoded text differs", trial)
		}
	}
}
