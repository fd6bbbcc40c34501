package source

import (
	"encoding/binary"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// cp1252Decoder decodes Windows-1252 into UTF-8 exactly as
// charmap.Windows1252's decoder does, but copies runs of ASCII, which is
// most of an export, eight bytes at a time instead of rune by rune.
type cp1252Decoder struct{ transform.NopResetter }

// cp1252UTF8 is the UTF-8 encoding of each byte's character, from
// charmap.Windows1252 itself.
var cp1252UTF8 = func() (t [256]struct {
	b [utf8.UTFMax]byte
	n uint8
}) {
	for c := range 256 {
		t[c].n = uint8(utf8.EncodeRune(t[c].b[:], charmap.Windows1252.DecodeByte(byte(c))))
	}
	return t
}()

const highBits = 0x8080808080808080

// Transform implements transform.Transformer.
func (cp1252Decoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		if c := src[nSrc]; c >= utf8.RuneSelf {
			e := &cp1252UTF8[c]
			if nDst+int(e.n) > len(dst) {
				return nDst, nSrc, transform.ErrShortDst
			}
			nDst += copy(dst[nDst:], e.b[:e.n])
			nSrc++
			continue
		}
		// A run of ASCII: find its end, a word at a time.
		end := nSrc + 1
		for end+8 <= len(src) && binary.LittleEndian.Uint64(src[end:])&highBits == 0 {
			end += 8
		}
		for end < len(src) && src[end] < utf8.RuneSelf {
			end++
		}
		n := copy(dst[nDst:], src[nSrc:end])
		nDst += n
		nSrc += n
		if nSrc < end {
			return nDst, nSrc, transform.ErrShortDst
		}
	}
	return nDst, nSrc, nil
}
