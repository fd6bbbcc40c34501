package source

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"
)

// xmlScanner is a minimal, allocation-free pull scanner for the XML that
// spreadsheet parts are made of: elements, attributes, character data,
// entities, CDATA, comments and processing instructions. It is not a
// validating parser: it reads what a well-formed worksheet holds, and
// reports an error only where it cannot go on. It exists because
// encoding/xml allocates for every token, which made reading an XLSX export
// about five times slower per row than reading the same rows as CSV.
type xmlScanner struct {
	r    *bufio.Reader
	tag  []byte // the last markup, without '<' and '>'
	nm   []byte // the local name of the last tag
	text []byte // character data before it, raw (when asked for)
}

var errXMLSyntax = errors.New("malformed XML")

// Markup kinds returned by next.
const (
	mStart = iota // <name ...>
	mEnd          // </name>
	mEmpty        // <name .../>
	mCDATA        // <![CDATA[...]]>: tag holds the content
	mOther        // comment, processing instruction, declaration
)

func newXMLScanner(r io.Reader) *xmlScanner {
	return &xmlScanner{r: bufio.NewReaderSize(r, 64<<10)}
}

// next reads up to and including the next markup. With keepText the
// character data before it is in s.text (raw, entities not decoded).
func (s *xmlScanner) next(keepText bool) (kind int, err error) {
	s.text = s.text[:0]
	for {
		b, err := s.r.ReadSlice('<')
		if keepText {
			if err == nil {
				s.text = append(s.text, b[:len(b)-1]...)
			} else {
				s.text = append(s.text, b...)
			}
		}
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			return 0, err
		}
	}
	s.tag = s.tag[:0]
	var quote byte
	for {
		b, err := s.r.ReadSlice('>')
		s.tag = append(s.tag, b...)
		// A '>' inside a quoted attribute value does not end the tag.
		for _, c := range b {
			switch {
			case quote != 0 && c == quote:
				quote = 0
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		t := s.tag
		switch {
		case bytes.HasPrefix(t, []byte("![CDATA[")):
			if bytes.HasSuffix(t, []byte("]]>")) {
				s.tag, s.nm = t[8:len(t)-3], nil
				return mCDATA, nil
			}
			quote = 0
			continue
		case bytes.HasPrefix(t, []byte("!--")):
			if bytes.HasSuffix(t, []byte("-->")) {
				s.nm = nil
				return mOther, nil
			}
			quote = 0
			continue
		}
		if quote != 0 {
			continue
		}
		s.tag = t[:len(t)-1]
		s.nm = nil
		switch {
		case len(s.tag) == 0:
			return 0, errXMLSyntax
		case s.tag[0] == '/':
			s.nm = s.name()
			return mEnd, nil
		case s.tag[0] == '?' || s.tag[0] == '!':
			return mOther, nil
		case s.tag[len(s.tag)-1] == '/':
			s.nm = s.name()
			return mEmpty, nil
		}
		s.nm = s.name()
		return mStart, nil
	}
}

// name returns the local name of the last tag (a namespace prefix dropped).
func (s *xmlScanner) name() []byte {
	t := s.tag
	if len(t) > 0 && t[0] == '/' {
		t = t[1:]
	}
	end := len(t)
	for i, c := range t {
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '/' {
			end = i
			break
		}
	}
	t = t[:end]
	if i := bytes.IndexByte(t, ':'); i >= 0 {
		t = t[i+1:]
	}
	return t
}

// is reports whether the last tag's local name is n.
func (s *xmlScanner) is(n string) bool { return string(s.nm) == n }

// attr returns the raw value of the last tag's attribute with local name n.
func (s *xmlScanner) attr(n string) ([]byte, bool) {
	v, ok := s.attrs(n, "", "")
	return v[0], ok[0]
}

// attrs is attr for up to three names at once, in one pass over the tag:
// each name's first attribute, as attr finds it ("" matches nothing). A
// cell's r, s and t were three passes, a fifth of an XLSX export's cost.
func (s *xmlScanner) attrs(a, b, c string) (vals [3][]byte, found [3]bool) {
	t := s.tag
	// skip the element name
	i := 0
	for i < len(t) && t[i] != ' ' && t[i] != '\t' && t[i] != '\n' && t[i] != '\r' {
		i++
	}
	for i < len(t) {
		for i < len(t) && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r' || t[i] == '/') {
			i++
		}
		start := i
		for i < len(t) && t[i] != '=' && t[i] != ' ' {
			i++
		}
		key := t[start:i]
		for i < len(t) && (t[i] == '=' || t[i] == ' ') {
			i++
		}
		if i >= len(t) || (t[i] != '"' && t[i] != '\'') {
			return vals, found // malformed: what follows is not read
		}
		q := t[i]
		i++
		vs := i
		for i < len(t) && t[i] != q {
			i++
		}
		val := t[vs:min(i, len(t))]
		i++
		if j := bytes.IndexByte(key, ':'); j >= 0 {
			key = key[j+1:]
		}
		for k, n := range [3]string{a, b, c} {
			if n != "" && !found[k] && string(key) == n {
				vals[k], found[k] = val, true
			}
		}
	}
	return vals, found
}

// appendText appends character data to dst as encoding/xml reads it:
// entities and character references decoded, "\r\n" and a lone '\r' read
// as '\n'.
func appendText(dst, raw []byte) ([]byte, error) {
	for len(raw) > 0 {
		i := bytes.IndexAny(raw, "&\r")
		if i < 0 {
			return append(dst, raw...), nil
		}
		dst = append(dst, raw[:i]...)
		raw = raw[i:]
		if raw[0] == '\r' {
			dst = append(dst, '\n')
			raw = raw[1:]
			if len(raw) > 0 && raw[0] == '\n' {
				raw = raw[1:]
			}
			continue
		}
		end := bytes.IndexByte(raw, ';')
		if end < 0 {
			return dst, errXMLSyntax
		}
		ent := raw[1:end]
		raw = raw[end+1:]
		switch string(ent) {
		case "amp":
			dst = append(dst, '&')
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "quot":
			dst = append(dst, '"')
		case "apos":
			dst = append(dst, '\'')
		default:
			if len(ent) < 2 || ent[0] != '#' {
				return dst, errXMLSyntax
			}
			var n uint64
			var err error
			if ent[1] == 'x' {
				n, err = strconv.ParseUint(string(ent[2:]), 16, 32)
			} else {
				n, err = strconv.ParseUint(string(ent[1:]), 10, 32)
			}
			if err != nil || !utf8.ValidRune(rune(n)) {
				return dst, errXMLSyntax
			}
			dst = utf8.AppendRune(dst, rune(n))
		}
	}
	return dst, nil
}

// unescapeOOXML decodes the _xHHHH_ escapes of a spreadsheet string (ECMA-376
// 22.9.2.19, the "basic string" type) as excelize does: _x005F_ is an
// underscore, any other a character; a surrogate half is dropped.
func unescapeOOXML(s string) string {
	if !containsEscape(s) {
		return s
	}
	var b []byte
	last := 0
	for i := 0; i+7 <= len(s); {
		if !isEscapeAt(s, i) {
			i++
			continue
		}
		b = append(b, s[last:i]...)
		n, _ := strconv.ParseUint(s[i+2:i+6], 16, 32)
		switch {
		case n == 0x5F:
			b = append(b, '_')
		case 0xD800 <= n && n <= 0xDFFF:
		default:
			b = utf8.AppendRune(b, rune(n))
		}
		i += 7
		last = i
	}
	return string(append(b, s[last:]...))
}

func containsEscape(s string) bool {
	for i := 0; i+7 <= len(s); i++ {
		if isEscapeAt(s, i) {
			return true
		}
	}
	return false
}

func isEscapeAt(s string, i int) bool {
	if s[i] != '_' || s[i+1] != 'x' || s[i+6] != '_' {
		return false
	}
	for _, c := range []byte(s[i+2 : i+6]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
