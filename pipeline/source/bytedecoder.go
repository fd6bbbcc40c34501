package source

import (
	"encoding/binary"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// byteDecoder decodes a single-byte character set that is a superset of
// ASCII (Windows-1252) to UTF-8 with the charset's own table
// (charmap.DecodeByte), copying runs of ASCII bytes eight bytes at a time.
// Exports are nearly all ASCII, and x/text's decoder, which takes each
// byte through its loop, used 2 of the 56 CPU-s of a 10M-row night (two of
// its seven exports are Windows-1252).
type byteDecoder struct {
	utf8 *[256][utf8.UTFMax]byte // each byte's UTF-8 encoding
	size *[256]uint8             // and its length
}

func newByteDecoder(cm *charmap.Charmap) byteDecoder {
	d := byteDecoder{new([256][utf8.UTFMax]byte), new([256]uint8)}
	for b := range 256 {
		d.size[b] = uint8(utf8.EncodeRune(d.utf8[b][:], cm.DecodeByte(byte(b))))
	}
	return d
}

func (d byteDecoder) Reset() {}

func (d byteDecoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		// Eight ASCII bytes at a time, as they are.
		for nSrc+8 <= len(src) && nDst+8 <= len(dst) {
			v := binary.LittleEndian.Uint64(src[nSrc:])
			if v&0x8080808080808080 != 0 {
				break
			}
			binary.LittleEndian.PutUint64(dst[nDst:], v)
			nSrc += 8
			nDst += 8
		}
		if nSrc == len(src) {
			break
		}
		c := src[nSrc]
		n := int(d.size[c])
		if len(dst)-nDst < n {
			return nDst, nSrc, transform.ErrShortDst
		}
		if n == 1 {
			dst[nDst] = d.utf8[c][0]
		} else {
			copy(dst[nDst:], d.utf8[c][:n])
		}
		nDst += n
		nSrc++
	}
	return nDst, nSrc, nil
}

// String decodes s. A field that is all ASCII (nearly every field a run
// keeps) is returned as it is.
func (d byteDecoder) String(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(i + (len(s)-i)*utf8.UTFMax)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		b.Write(d.utf8[c][:d.size[c]])
	}
	return b.String()
}
