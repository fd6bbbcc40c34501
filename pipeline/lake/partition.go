package lake

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Partition names one Hive partition of the lake: the source system the rows
// came from and the year their periods start in.
type Partition struct {
	Source    string // matches [a-z0-9_]+, at most 64 bytes
	StartYear int    // four digits: 1000..9999
}

// maxSourceLen bounds the source name (and with it the directory name).
const maxSourceLen = 64

// Dir returns the partition's directory relative to the lake root,
// "source=<source>/start_year=<YYYY>", slash-separated. It does not validate
// p; see [Partition.Validate].
func (p Partition) Dir() string {
	return "source=" + p.Source + "/start_year=" + strconv.Itoa(p.StartYear)
}

// String returns p.Dir().
func (p Partition) String() string { return p.Dir() }

// Validate reports whether p can name a directory of the lake: Source must
// match [a-z0-9_]+ (at most 64 bytes) and StartYear must have four digits.
func (p Partition) Validate() error {
	if err := validSource(p.Source); err != nil {
		return err
	}
	if p.StartYear < 1000 || p.StartYear > 9999 {
		return fmt.Errorf("lake: partition start_year %d: not a four-digit year", p.StartYear)
	}
	return nil
}

func validSource(s string) error {
	if s == "" {
		return errors.New("lake: partition source is empty")
	}
	if len(s) > maxSourceLen {
		return fmt.Errorf("lake: partition source is longer than %d bytes", maxSourceLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return fmt.Errorf("lake: partition source %q: must match [a-z0-9_]+", s)
		}
	}
	return nil
}

// ParsePartition parses a partition directory as returned by [Partition.Dir],
// "source=<source>/start_year=<YYYY>", and validates it.
func ParsePartition(dir string) (Partition, error) {
	src, year, ok := strings.Cut(dir, "/")
	if !ok {
		return Partition{}, fmt.Errorf("lake: partition directory %q: want source=<source>/start_year=<YYYY>", dir)
	}
	s, ok1 := strings.CutPrefix(src, "source=")
	y, ok2 := strings.CutPrefix(year, "start_year=")
	if !ok1 || !ok2 || len(y) != 4 {
		return Partition{}, fmt.Errorf("lake: partition directory %q: want source=<source>/start_year=<YYYY>", dir)
	}
	n, err := strconv.Atoi(y)
	if err != nil {
		return Partition{}, fmt.Errorf("lake: partition directory %q: start_year is not a year", dir)
	}
	p := Partition{Source: s, StartYear: n}
	if err := p.Validate(); err != nil {
		return Partition{}, err
	}
	return p, nil
}
