package subject

import (
	"fmt"
	"path/filepath"

	"github.com/gallra/gallra/pipeline/lake"
)

// match is one of the request's persons' rows in the pseudonymised tier.
type match struct {
	line int // index in Request.Lines of the first line naming the person
	p    lake.Partition
	row  lake.Row
}

// pseudonymised returns the partitions of the pseudonymised tier of m.
func pseudonymised(m *lake.Manifest) []lake.Partition {
	var out []lake.Partition
	for _, p := range m.Partitions() {
		if p.Table == lake.TablePseudonymised {
			out = append(out, p)
		}
	}
	return out
}

// find reads every file of the pseudonymised tier of base and returns the
// rows of the request's persons, in partition and file order, and the
// number of linked rows made with a key outside the request key's chain
// (which the request's pseudonyms cannot match).
func find(lakeDir string, base *lake.Manifest, q *Request) (out []match, otherKeys int64, err error) {
	for _, p := range pseudonymised(base) {
		for _, f := range base.PartitionFiles(p) {
			err := lake.ReadFile(filepath.Join(lakeDir, filepath.FromSlash(f.Path)), func(r lake.Row) error {
				i, ok, foreign := q.matchRow(&r)
				switch {
				case ok:
					out = append(out, match{line: i, p: p, row: r})
				case foreign:
					otherKeys++
				}
				return nil
			})
			if err != nil {
				return nil, 0, fmt.Errorf("subject: reading %s: %w", f.Path, err)
			}
		}
	}
	return out, otherKeys, nil
}
