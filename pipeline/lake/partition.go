package lake

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Tables of the lake. The manifest lists the files of all three in one list;
// each file's Partition.Table says which it belongs to.
const (
	// TablePseudonymised ("") is the participation table of Row: the
	// pseudonymised tier, source=<s>/start_year=<y>/.
	TablePseudonymised = ""
	// TableAnonymised holds the anonymised tier (package anonymised):
	// anonymised/source=<s>/start_year=<y>/.
	TableAnonymised = "anonymised"
	// TableAggregates holds the frozen aggregates of one calendar year each
	// (package aggregates): aggregates/year=<y>/, Source empty, StartYear
	// the frozen year.
	TableAggregates = "aggregates"
)

// Partition names one Hive partition of the lake: the table it belongs to,
// the source system the rows came from and the year their periods start in
// (for TableAggregates: no source, and StartYear is the frozen year).
type Partition struct {
	Source    string // matches [a-z0-9_]+, at most 64 bytes; empty for TableAggregates
	StartYear int    // four digits: 1000..9999
	// Table is TablePseudonymised (""), TableAnonymised or TableAggregates.
	// Everything that handles Rows (merge, lakeop's Rewrite, the view lake)
	// touches only partitions with Table == "".
	Table string `json:",omitempty"`
}

// maxSourceLen bounds the source name (and with it the directory name).
const maxSourceLen = 64

// Dir returns the partition's directory relative to the lake root,
// slash-separated: "source=<source>/start_year=<YYYY>" for the pseudonymised
// table, "anonymised/source=<source>/start_year=<YYYY>" and
// "aggregates/year=<YYYY>". It does not validate p; see [Partition.Validate].
func (p Partition) Dir() string {
	switch p.Table {
	case TableAggregates:
		return TableAggregates + "/year=" + strconv.Itoa(p.StartYear)
	case TablePseudonymised:
		return "source=" + p.Source + "/start_year=" + strconv.Itoa(p.StartYear)
	default:
		return p.Table + "/source=" + p.Source + "/start_year=" + strconv.Itoa(p.StartYear)
	}
}

// String returns p.Dir().
func (p Partition) String() string { return p.Dir() }

// Validate reports whether p can name a directory of the lake: Table must be
// one of the three tables; Source must match [a-z0-9_]+ (at most 64 bytes),
// or be empty for TableAggregates; StartYear must have four digits.
func (p Partition) Validate() error {
	switch p.Table {
	case TablePseudonymised, TableAnonymised:
		if err := validSource(p.Source); err != nil {
			return err
		}
	case TableAggregates:
		if p.Source != "" {
			return errors.New("lake: an aggregates partition has no source")
		}
	default:
		return fmt.Errorf("lake: partition table %q: want \"\", %q or %q", p.Table, TableAnonymised, TableAggregates)
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

// ParsePartition parses a partition directory as returned by [Partition.Dir]
// and validates it.
func ParsePartition(dir string) (Partition, error) {
	bad := func() (Partition, error) {
		return Partition{}, fmt.Errorf("lake: partition directory %q: want [anonymised/]source=<source>/start_year=<YYYY> or aggregates/year=<YYYY>", dir)
	}
	var p Partition
	var y string
	if rest, ok := strings.CutPrefix(dir, TableAggregates+"/"); ok {
		if y, ok = strings.CutPrefix(rest, "year="); !ok {
			return bad()
		}
		p.Table = TableAggregates
	} else {
		if rest, ok := strings.CutPrefix(dir, TableAnonymised+"/"); ok {
			p.Table, dir = TableAnonymised, rest
		}
		src, year, ok := strings.Cut(dir, "/")
		if !ok {
			return bad()
		}
		s, ok1 := strings.CutPrefix(src, "source=")
		yy, ok2 := strings.CutPrefix(year, "start_year=")
		if !ok1 || !ok2 {
			return bad()
		}
		p.Source, y = s, yy
	}
	if len(y) != 4 {
		return bad()
	}
	n, err := strconv.Atoi(y)
	if err != nil {
		return Partition{}, fmt.Errorf("lake: partition directory %q: the year is not a year", dir)
	}
	p.StartYear = n
	if err := p.Validate(); err != nil {
		return Partition{}, err
	}
	return p, nil
}
