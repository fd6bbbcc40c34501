// Package deliver writes microdata for an external recipient (a delivery
// domain): the lake's participations with the lake's pseudonym replaced by
// the recipient's own, and nothing that links back to the lake.
//
// The recipient's pseudonym is HMAC-SHA-256 under a subkey derived for the
// recipient's domain from the key's current generation, over the lake's
// pseudonym (pseudonym.Recipient). Without the key, a recipient's
// pseudonyms cannot be linked to the lake's, nor to another recipient's;
// the same recipient gets the same pseudonym for the same person in every
// delivery made with the same key generation (a key rotation starts a new
// series). A delivery holds, per participation: pseudonym (null for a
// participation the lake keeps unlinked), source, measure, period_start,
// period_end, and the attributes the source's policy keeps (sex, age_band,
// municipality; null where not kept). It holds no record_key, key_id,
// id_kind or run_id.
//
// Each delivery is a folder with the data as Parquet and CSV and a
// delivery.json manifest (domain, date, counts, files with their SHA-256),
// and an entry of kind "deliver" in the lake's run log.
package deliver

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/gallra/gallra/pipeline/atomicfile"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/lakeop"
	"github.com/gallra/gallra/pipeline/tables"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// Kind is the run-log kind of a delivery.
const Kind = "deliver"

// ManifestFile is the name of the delivery manifest in the output folder.
const ManifestFile = "delivery.json"

// ManifestFormat names the delivery manifest's format version.
const ManifestFormat = "gallra-delivery-1"

// Columns are the delivery's columns, in order.
var Columns = []string{"pseudonym", "source", "measure", "period_start", "period_end", "sex", "age_band", "municipality"}

// Options say what to deliver.
type Options struct {
	// Domain names the recipient, e.g. "scb-2026": 1 to 64 characters from
	// [a-z0-9._-]. It must not be one of gallra's internal domains.
	Domain string
	// LakeDomain is the job's pseudonym domain ([key] domain, "lake" by
	// default); a delivery may not use it.
	LakeDomain string
	// FromYear and ToYear bound the participations delivered to those
	// active at some time in the span (0: no bound on that side).
	FromYear, ToYear int
	// Sources, if not empty, limits the delivery to these sources.
	Sources []string
	// Out is the folder to write; it must not exist or be empty.
	Out string
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// File is one data file of a delivery.
type File struct {
	Name   string `json:"name"`
	Format string `json:"format"` // parquet | csv
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Manifest describes a delivery for its recipient; it is written to
// delivery.json. It names no key, key ID or lake path.
type Manifest struct {
	Format       string   `json:"format"`
	Domain       string   `json:"domain"`
	Date         string   `json:"date"`    // YYYY-MM-DD
	Created      string   `json:"created"` // RFC 3339, UTC
	RunID        string   `json:"run_id"`  // the delivery's entry in the sender's run log
	FromYear     int      `json:"from_year,omitempty"`
	ToYear       int      `json:"to_year,omitempty"`
	Sources      []string `json:"sources,omitempty"`
	Rows         int64    `json:"rows"`
	Persons      int64    `json:"persons"`
	UnlinkedRows int64    `json:"unlinked_rows"`
	Columns      []string `json:"columns"`
	Files        []File   `json:"files"`
	Note         string   `json:"note"`
}

const note = "pseudonym is this recipient's own pseudonym (HMAC-SHA-256 under a key derived for the domain): " +
	"stable across deliveries to the same domain, unlinkable to the sender's lake and to other recipients without the sender's key. " +
	"A null pseudonym is a participation kept without a person."

// ErrDomain is returned (wrapped) for a domain a delivery may not use.
var ErrDomain = errors.New("deliver: invalid delivery domain")

// reserved are internal domains and prefixes no delivery may use, besides
// the lake's own domain.
var reserved = []string{tables.CellKeyDomain, "lake"}

// CheckDomain reports whether domain may name a delivery of a lake whose
// pseudonyms are of lakeDomain.
func CheckDomain(domain, lakeDomain string) error {
	if domain == lakeDomain || slices.Contains(reserved, domain) {
		return fmt.Errorf("%w: %q is an internal domain of gallra (the lake's pseudonyms or cell keys); choose the recipient's own name, e.g. scb-2026", ErrDomain, domain)
	}
	return nil
}

// Write delivers the lake at lakeDir under key to opt.Out and records the
// delivery in the lake's run log. It holds the lake's lock while it reads,
// so that it reads one committed generation, and refuses a key whose
// current generation is not the lake's (keyfile.CheckLake).
func Write(ctx context.Context, lakeDir string, key pseudonym.Key, opt Options) (*Manifest, error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	if err := CheckDomain(opt.Domain, opt.LakeDomain); err != nil {
		return nil, err
	}
	rec, err := pseudonym.NewRecipient(key, opt.Domain)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDomain, err)
	}
	if opt.FromYear != 0 && opt.ToYear != 0 && opt.FromYear > opt.ToYear {
		return nil, fmt.Errorf("deliver: --from %d is after --to %d", opt.FromYear, opt.ToYear)
	}
	if err := emptyDir(opt.Out, false); err != nil {
		return nil, err
	}
	started := now().UTC()
	log := &lakeop.Log{RunID: lake.NewRunID(started), Kind: Kind, Reference: opt.Domain, KeyID: key.ID(),
		Started: started, Counts: map[string]int64{}}
	lock, err := lake.AcquireLock(lakeDir, log.RunID)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	log.StaleLock = lock.Stale
	base, recov, err := lake.Recover(lakeDir)
	if err != nil {
		return nil, fmt.Errorf("recovering the lake: %w", err)
	}
	if !recov.Empty() {
		log.Recovery = &recov
	}
	log.Generation = base.Generation
	// A key whose current generation is not the lake's would map the
	// lake's pseudonyms under another subkey than earlier deliveries did.
	if err := keyfile.CheckLake(key, base.KeyID); err != nil {
		return nil, err
	}
	if err := emptyDir(opt.Out, true); err != nil {
		return nil, err
	}
	m, err := write(ctx, lakeDir, rec, opt, log.RunID, started)
	log.Finished = now().UTC()
	if err != nil {
		log.Outcome, log.ExitCode, log.Error = lakeop.OutcomeFailed, 1, err.Error()
	} else {
		log.Outcome = lakeop.OutcomeOK
		log.Count("rows", m.Rows)
		log.Count("persons", m.Persons)
		log.Count("unlinked_rows", m.UnlinkedRows)
		log.Count("files", int64(len(m.Files)))
		log.Details = map[string]any{"domain": m.Domain, "out": opt.Out, "from_year": m.FromYear, "to_year": m.ToYear,
			"sources": m.Sources, "files": m.Files}
	}
	if werr := lakeop.WriteLog(lakeDir, log); werr != nil {
		err = errors.Join(err, werr)
	}
	return m, err
}

// emptyDir checks that dir does not exist or is empty, and with create makes
// it: a delivery never mixes its files with others'.
func emptyDir(dir string, create bool) error {
	if dir == "" {
		return errors.New("deliver: no output folder")
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !create {
			return nil
		}
		return os.MkdirAll(dir, 0o750)
	case err != nil:
		return fmt.Errorf("deliver: output folder: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("deliver: output folder %s is not empty: each delivery gets a folder of its own", dir)
	}
	return nil
}

func write(ctx context.Context, lakeDir string, rec *pseudonym.Recipient, opt Options, runID string, started time.Time) (*Manifest, error) {
	db, err := duck.Open(ctx, duck.Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := duck.LakeView(ctx, db, lakeDir); err != nil {
		return nil, err
	}
	sources := slices.Clone(opt.Sources)
	slices.Sort(sources)
	sources = slices.Compact(sources)
	cond := filter(opt.FromYear, opt.ToYear, sources)

	// One connection for all: the mapping table and the COPY see each other.
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// The recipient's pseudonyms, computed here (the key never enters
	// DuckDB), joined in by a mapping table.
	if err := mapPseudonyms(ctx, conn, rec, cond); err != nil {
		return nil, err
	}
	sel := `SELECT m.rp::UUID AS pseudonym, l.source, l.measure, l.period_start, l.period_end, l.sex, l.age_band, l.municipality
FROM lake l LEFT JOIN recipient_map m ON l.pseudonym = m.lp
WHERE ` + cond + `
ORDER BY l.source, l.period_start, l.measure, pseudonym NULLS LAST`

	m := &Manifest{Format: ManifestFormat, Domain: opt.Domain, Date: started.Format("2006-01-02"),
		Created: started.Format(time.RFC3339), RunID: runID, FromYear: opt.FromYear, ToYear: opt.ToYear,
		Sources: sources, Columns: Columns, Note: note}
	row := conn.QueryRowContext(ctx, "SELECT count(*), count(DISTINCT pseudonym), count(*) FILTER (WHERE pseudonym IS NULL) FROM ("+sel+")")
	if err := row.Scan(&m.Rows, &m.Persons, &m.UnlinkedRows); err != nil {
		return nil, fmt.Errorf("deliver: counting: %w", err)
	}
	base := opt.Domain
	for _, f := range []struct{ name, format, opts string }{
		{base + ".parquet", "parquet", "FORMAT parquet, COMPRESSION zstd"},
		{base + ".csv", "csv", "FORMAT csv, HEADER true, DELIMITER ','"},
	} {
		path := filepath.Join(opt.Out, f.name)
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		if _, err := conn.ExecContext(ctx, "COPY ("+sel+") TO "+duck.Literal(abs)+" ("+f.opts+")"); err != nil {
			return nil, fmt.Errorf("deliver: writing %s: %w", f.name, err)
		}
		sum, size, err := hashFile(path)
		if err != nil {
			return nil, err
		}
		m.Files = append(m.Files, File{Name: f.name, Format: f.format, Rows: m.Rows, Bytes: size, SHA256: sum})
	}
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(opt.Out, ManifestFile), append(b, '\n'), 0o640); err != nil {
		return nil, fmt.Errorf("deliver: %w", err)
	}
	return m, nil
}

// filter is the condition on the lake's rows (as l) of a delivery:
// participations active in the span of years, of the sources.
func filter(from, to int, sources []string) string {
	where := []string{"true"}
	if to != 0 {
		where = append(where, fmt.Sprintf("l.period_start <= DATE '%04d-12-31'", to))
	}
	if from != 0 {
		where = append(where, fmt.Sprintf("(l.period_end IS NULL OR l.period_end >= DATE '%04d-01-01')", from))
	}
	if len(sources) > 0 {
		lits := make([]string, len(sources))
		for i, s := range sources {
			lits[i] = duck.Literal(s)
		}
		where = append(where, "l.source IN ("+strings.Join(lits, ", ")+")")
	}
	return strings.Join(where, " AND ")
}

// mapPseudonyms fills the table recipient_map(lp UUID, rp VARCHAR) with the
// recipient's pseudonym of every lake pseudonym in the delivery.
func mapPseudonyms(ctx context.Context, conn *sql.Conn, rec *pseudonym.Recipient, cond string) error {
	if _, err := conn.ExecContext(ctx, "CREATE TABLE recipient_map (lp UUID, rp VARCHAR)"); err != nil {
		return fmt.Errorf("deliver: %w", err)
	}
	rows, err := conn.QueryContext(ctx, "SELECT DISTINCT l.pseudonym::VARCHAR FROM lake l WHERE l.pseudonym IS NOT NULL AND "+cond)
	if err != nil {
		return fmt.Errorf("deliver: reading pseudonyms: %w", err)
	}
	var lps []pseudonym.Pseudonym
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return fmt.Errorf("deliver: reading pseudonyms: %w", err)
		}
		p, err := pseudonym.ParsePseudonym(s)
		if err != nil {
			rows.Close()
			return fmt.Errorf("deliver: reading pseudonyms: %w", err)
		}
		lps = append(lps, p)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("deliver: reading pseudonyms: %w", err)
	}
	return conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "recipient_map")
		if err != nil {
			return fmt.Errorf("deliver: %w", err)
		}
		for _, lp := range lps {
			if err := a.AppendRow(duckdb.UUID(lp), rec.Pseudonym(lp).String()); err != nil {
				a.Close()
				return fmt.Errorf("deliver: %w", err)
			}
		}
		return a.Close()
	})
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
