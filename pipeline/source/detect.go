package source

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/gallra/gallra/pipeline/source/csvscan"
)

// sniffSize bounds how much of a file is inspected to detect its encoding,
// "sep=" line and delimiter. The rest of the file is streamed.
const sniffSize = 64 << 10

// Encoding names reported by Reader.Encoding.
const (
	encUTF8    = "utf-8"
	encCP1252  = "windows-1252"
	encUTF16LE = "utf-16le"
	encUTF16BE = "utf-16be"
)

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// normEncoding maps an Options.Encoding value to a canonical name, "" for
// detection, or ok=false if the name is unknown.
func normEncoding(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return "", true
	case "utf-8", "utf8":
		return encUTF8, true
	case "windows-1252", "cp1252", "latin1", "latin-1", "iso-8859-1":
		return encCP1252, true
	}
	return "", false
}

// detectEncoding picks the encoding of a file from its first bytes. atEOF
// says prefix is the whole file. A prefix that is valid UTF-8 (after
// dropping a multibyte sequence the window may have cut) is UTF-8; any
// invalid byte means Windows-1252.
func detectEncoding(prefix []byte, atEOF bool) string {
	switch {
	case bytes.HasPrefix(prefix, bomUTF8):
		return encUTF8
	case bytes.HasPrefix(prefix, bomUTF16LE):
		return encUTF16LE
	case bytes.HasPrefix(prefix, bomUTF16BE):
		return encUTF16BE
	}
	if !atEOF {
		prefix = dropCutRune(prefix)
	}
	if utf8.Valid(prefix) {
		return encUTF8
	}
	return encCP1252
}

// dropCutRune removes a trailing incomplete UTF-8 sequence: the start of a
// multibyte rune whose continuation bytes lie beyond the sniff window.
func dropCutRune(p []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(p); i++ {
		if utf8.RuneStart(p[len(p)-i]) {
			if !utf8.FullRune(p[len(p)-i:]) {
				return p[:len(p)-i]
			}
			break
		}
	}
	return p
}

// sepLine recognises Excel's "sep=X" first line (also written quoted,
// "\"sep=X\"", and sometimes padded with further delimiters) in decoded
// text. It returns the delimiter and the length of the line including its
// line break.
func sepLine(p []byte) (delim rune, n int, ok bool) {
	line := p
	n = len(p)
	if i := bytes.IndexByte(p, '\n'); i >= 0 {
		line, n = p[:i], i+1
	}
	line = bytes.TrimSuffix(line, []byte{'\r'})
	quoted := len(line) > 0 && line[0] == '"'
	if quoted {
		line = line[1:]
	}
	if len(line) < 5 || !strings.EqualFold(string(line[:4]), "sep=") {
		return 0, 0, false
	}
	r, size := utf8.DecodeRune(line[4:])
	if !csvscan.ValidDelim(r) {
		return 0, 0, false
	}
	rest := line[4+size:]
	if quoted {
		if len(rest) == 0 || rest[0] != '"' {
			return 0, 0, false
		}
		rest = rest[1:]
	}
	for len(rest) > 0 {
		c, size := utf8.DecodeRune(rest)
		if c != r {
			return 0, 0, false
		}
		rest = rest[size:]
	}
	return r, n, true
}

// detectDelimiter counts ';', ',' and '\t' outside quotes in the first
// non-blank record of p and returns the one giving the most fields. Ties,
// and a header without any of them, go to ';', then ','.
func detectDelimiter(p []byte) rune {
	var semi, comma, tab int
	inQuotes, seen := false, false
scan:
	for _, c := range p {
		if c == '"' {
			inQuotes = !inQuotes // an escaped "" toggles twice
			seen = true
			continue
		}
		if inQuotes {
			continue
		}
		switch c {
		case ';':
			semi++
		case ',':
			comma++
		case '\t':
			tab++
		case '\n':
			if seen {
				break scan
			}
			continue // blank line before the header
		case '\r', ' ':
			continue
		}
		seen = true
	}
	switch {
	case semi >= comma && semi >= tab:
		return ';'
	case comma >= tab:
		return ','
	default:
		return '\t'
	}
}

// isBlank reports whether p holds only white space.
func isBlank(p []byte) bool {
	return len(bytes.TrimSpace(p)) == 0
}
