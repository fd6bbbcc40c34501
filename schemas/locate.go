package schemas

import (
	"fmt"
	"strconv"
	"strings"
)

// locator remembers on which line of a schema file each key was written, so that errors found
// after decoding (the TOML decoder keeps no positions for keys) can name the line. It is a light
// line scanner, good enough for the layout schema files use; where it finds nothing, errors
// simply omit the line.
type locator struct {
	top      map[string]int // top-level key -> line
	columns  []columnLoc    // one per [[column]], in order
	measures map[string]int // [measures] label -> line
}

type columnLoc struct {
	index int            // 0-based position among the [[column]] tables
	line  int            // line of the [[column]] header
	keys  map[string]int // key -> line
}

func locate(data []byte) *locator {
	l := &locator{top: make(map[string]int), measures: make(map[string]int)}
	table := ""
	inMulti := "" // the delimiter of a multi-line string being skipped
	for n, raw := range strings.Split(string(data), "\n") {
		line := n + 1
		if inMulti != "" {
			if strings.Count(raw, inMulti)%2 == 1 {
				inMulti = ""
			}
			continue
		}
		t := strings.TrimSpace(raw)
		if t == "" || t[0] == '#' {
			continue
		}
		if strings.HasPrefix(t, "[[") {
			name, _, _ := strings.Cut(t[2:], "]]")
			table = "[[" + strings.TrimSpace(name)
			if table == "[[column" {
				l.columns = append(l.columns, columnLoc{index: len(l.columns), line: line, keys: make(map[string]int)})
			}
			continue
		}
		if t[0] == '[' {
			name, _, _ := strings.Cut(t[1:], "]")
			table = strings.TrimSpace(name)
			continue
		}
		key, ok := leadingKey(t)
		if !ok {
			continue
		}
		switch table {
		case "":
			if _, dup := l.top[key]; !dup {
				l.top[key] = line
			}
		case "[[column":
			c := &l.columns[len(l.columns)-1]
			if _, dup := c.keys[key]; !dup {
				c.keys[key] = line
			}
		case "measures":
			if _, dup := l.measures[key]; !dup {
				l.measures[key] = line
			}
		}
		for _, d := range []string{`"""`, `'''`} {
			if strings.Count(raw, d)%2 == 1 {
				inMulti = d
			}
		}
	}
	return l
}

// leadingKey returns the key of a `key = value` line: bare, "basic" or 'literal'.
func leadingKey(t string) (string, bool) {
	var key, rest string
	switch t[0] {
	case '"':
		end := -1
		for i := 1; i < len(t); i++ {
			if t[i] == '\\' {
				i++
				continue
			}
			if t[i] == '"' {
				end = i
				break
			}
		}
		if end < 0 {
			return "", false
		}
		k, err := strconv.Unquote(t[:end+1])
		if err != nil {
			return "", false
		}
		key, rest = k, t[end+1:]
	case '\'':
		end := strings.IndexByte(t[1:], '\'')
		if end < 0 {
			return "", false
		}
		key, rest = t[1:end+1], t[end+2:]
	default:
		k, r, ok := strings.Cut(t, "=")
		if !ok {
			return "", false
		}
		key, rest = strings.TrimSpace(k), "="+r
	}
	if !strings.HasPrefix(strings.TrimSpace(rest), "=") {
		return "", false
	}
	return key, true
}

func (l *locator) topLine(key string) int {
	if l == nil {
		return 0
	}
	return l.top[key]
}

func (l *locator) columnLine(i int) int {
	if l == nil || i >= len(l.columns) {
		return 0
	}
	return l.columns[i].line
}

func (l *locator) measureLine(label string) int {
	if l == nil {
		return 0
	}
	return l.measures[label]
}

// columnsWithKey returns, for each [[column]] that sets key, its index and the key's line.
func (l *locator) columnsWithKey(key string) []columnLoc {
	if l == nil {
		return nil
	}
	var out []columnLoc
	for _, c := range l.columns {
		if line, ok := c.keys[key]; ok {
			out = append(out, columnLoc{index: c.index, line: line})
		}
	}
	return out
}

// lineSuffix is ":<line>" for an error's file:line prefix, or "" when the line is unknown.
func lineSuffix(line int) string {
	if line <= 0 {
		return ""
	}
	return fmt.Sprintf(":%d", line)
}
