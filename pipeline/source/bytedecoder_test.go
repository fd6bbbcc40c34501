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

// TestByteDecoderDecodesLikeTheCharmap decodes random Windows-1252 text, mostly
// ASCII with runs of other bytes (every byte value occurs), through
// byteDecoder and through the charmap decoder alone, read whole and a byte at
// a time: the output must be the same.
func TestByteDecoderDecodesLikeTheCharmap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for round := range 50 {
		src := make([]byte, rng.IntN(20000))
		for i := range src {
			if rng.IntN(20) == 0 {
				src[i] = byte(0x80 + rng.IntN(128))
			} else {
				src[i] = byte(rng.IntN(128))
			}
		}
		if round == 0 {
			src = make([]byte, 256)
			for i := range src {
				src[i] = byte(i)
			}
		}
		want, err := io.ReadAll(transform.NewReader(bytes.NewReader(src), charmap.Windows1252.NewDecoder()))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []io.Reader{bytes.NewReader(src), iotest.OneByteReader(bytes.NewReader(src)), iotest.HalfReader(bytes.NewReader(src))} {
			got, err := io.ReadAll(transform.NewReader(r, newByteDecoder(charmap.Windows1252)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("round %d: byteDecoder decoded %d bytes differently from the charmap decoder", round, len(src))
			}
		}
	}
}

// TestByteDecoderShortDst gives the transformer a destination too small for
// its source: it must report ErrShortDst having written only what fits, and
// finish on the next call.
func TestByteDecoderShortDst(t *testing.T) {
	src := []byte("abcdefghij\xe5\xe4\xf6klmnop")
	want, _, _ := transform.Bytes(charmap.Windows1252.NewDecoder(), src)
	a := newByteDecoder(charmap.Windows1252)
	var out []byte
	rest := src
	for len(rest) > 0 {
		dst := make([]byte, 3)
		nd, ns, err := a.Transform(dst, rest, true)
		if err != nil && err != transform.ErrShortDst {
			t.Fatal(err)
		}
		if nd == 0 && ns == 0 {
			t.Fatal("no progress with a 3-byte destination")
		}
		out = append(out, dst[:nd]...)
		rest = rest[ns:]
	}
	if !bytes.Equal(out, want) {
		t.Fatalf("got %q, want %q", out, want)
	}
}

// BenchmarkDecode1252 decodes a typical export line (ASCII, a few Swedish
// letters) through byteDecoder; BenchmarkDecode1252Charmap is its baseline,
// side by side: the charmap decoder alone.
func BenchmarkDecode1252(b *testing.B) { benchDecode(b, newByteDecoder(charmap.Windows1252)) }

func BenchmarkDecode1252Charmap(b *testing.B) { benchDecode(b, charmap.Windows1252.NewDecoder()) }

func benchDecode(b *testing.B, t transform.Transformer) {
	line := []byte("AMEA-0001234;Arbetsträning;2024-03-01;2024-08-31;Jönköping;K;0680;Sökt via Arbetsförmedlingen\r\n")
	src := bytes.Repeat(line, 400)
	dst := make([]byte, 2*len(src))
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		t.Reset()
		if _, _, err := t.Transform(dst, src, true); err != nil {
			b.Fatal(err)
		}
	}
}
