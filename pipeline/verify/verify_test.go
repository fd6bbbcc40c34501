package verify

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unicode/utf16"

	"github.com/parquet-go/parquet-go"
	"github.com/xuri/excelize/v2"
)

// Planted values: official test numbers and made-up contact data.
var planted = []string{
	pnr12, pnr10, pnrY2K, snr12, "0301012381", "301012381",
	"anna.andersson@example.se", "anna.andersson", "example.se",
	"0701234567", "070-123 45 67", "701234567",
	"08-123 456 78", "12345678",
}

// assertNoLeak fails if any finding or the error contains a planted value,
// or any 6-byte piece of one.
func assertNoLeak(t *testing.T, fs []Finding, err error) {
	t.Helper()
	var texts []string
	for _, f := range fs {
		texts = append(texts, f.File, f.Location, f.Kind)
	}
	if err != nil {
		texts = append(texts, err.Error())
	}
	for _, text := range texts {
		for _, p := range planted {
			for i := 0; i+6 <= len(p); i++ {
				if strings.Contains(text, p[i:i+6]) {
					t.Errorf("%q contains a piece of a planted value", text)
				}
			}
		}
	}
}

func scanner() *Scanner { return &Scanner{IsIdentifier: testIsIdentifier} }

func want(t *testing.T, fs []Finding, file, loc, kind string) {
	t.Helper()
	for _, f := range fs {
		if f.File == file && f.Location == loc && f.Kind == kind {
			return
		}
	}
	t.Errorf("missing finding %s: %s: %s; got %v", file, loc, kind, fs)
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTextFiles(t *testing.T) {
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "report.json")
	writeFile(t, jsonPath, []byte(`{
  "run": "20261123T054000Z-1a2b",
  "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "record": "0f8e2c1a-3b4d-4e5f-8a9b-198112189876",
  "started": "2026-11-23T05:40:00Z", "rows": 1234567890, "mean": 12345.67,
  "leak": {"pnr": "198112189876"},
  "contact": "anna.andersson@example.se",
  "tel": "070-123 45 67"
}
`))
	fs, err := scanner().ScanFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	want(t, fs, jsonPath, "line 6", KindPersonnummer)
	want(t, fs, jsonPath, "line 7", KindEmail)
	want(t, fs, jsonPath, "line 8", KindPhone)
	if len(fs) != 3 {
		t.Errorf("got %d findings, want 3: %v", len(fs), fs)
	}
	assertNoLeak(t, fs, err)

	csvPath := filepath.Join(dir, "export.csv")
	writeFile(t, csvPath, []byte("id;measure;phone\r\n1;AMEA;\r\n8112189876;AMEA;\r\n2;SFI;0046 70 123 45 67\r\n"))
	fs, err = scanner().ScanFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	want(t, fs, csvPath, "line 3", KindPersonnummer)
	want(t, fs, csvPath, "line 4", KindPhone)
	if len(fs) != 2 {
		t.Errorf("got %v", fs)
	}
	assertNoLeak(t, fs, err)
}

func TestTextEncodings(t *testing.T) {
	dir := t.TempDir()
	// Latin-1: not valid UTF-8, still scanned.
	latin := filepath.Join(dir, "latin1.csv")
	writeFile(t, latin, []byte("namn;pnr;epost\n\xc5sa;811218-9876;anna.andersson@example.se\n"))
	fs, err := scanner().ScanFile(latin)
	if err != nil {
		t.Fatal(err)
	}
	want(t, fs, latin, "line 2", KindPersonnummer)
	want(t, fs, latin, "line 2", KindEmail)

	// UTF-16LE with a byte order mark, as Excel's "Unicode text" export.
	u16 := func(s string, bom bool) []byte {
		var b bytes.Buffer
		if bom {
			b.Write([]byte{0xff, 0xfe})
		}
		for _, r := range utf16.Encode([]rune(s)) {
			binary.Write(&b, binary.LittleEndian, r)
		}
		return b.Bytes()
	}
	p := filepath.Join(dir, "unicode.txt")
	writeFile(t, p, u16("kontakt\tÅsa\r\nanna.andersson@example.se\r\n+46 70 123 45 67\r\n", true))
	fs, err = scanner().ScanFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want(t, fs, p, "line 2", KindEmail)
	want(t, fs, p, "line 3", KindPhone)
	assertNoLeak(t, fs, err)

	// Without a byte order mark UTF-16 is binary to the scanner: unscannable.
	p = filepath.Join(dir, "nobom.txt")
	writeFile(t, p, u16("anna.andersson@example.se", false))
	if _, err := scanner().ScanFile(p); !errors.Is(err, ErrUnscannable) {
		t.Errorf("UTF-16 without BOM: err = %v, want ErrUnscannable", err)
	}
}

// TestLongLines moves planted values across every position of lines much
// longer than the scan window, so that every window edge is crossed: each
// is found exactly once, and a hex-glued value never.
func TestLongLines(t *testing.T) {
	oldWindow, oldBuf := textWindow, textReadBuf
	textWindow, textReadBuf = 300, 100
	t.Cleanup(func() { textWindow, textReadBuf = oldWindow, oldBuf })

	secret := strings.Repeat("k3y!", 400) // 1600 bytes: longer than the minimum context
	s := &Scanner{IsIdentifier: testIsIdentifier, Secrets: []string{secret}}
	const n = 6000
	cases := []struct {
		token, filler string
		kind          string
	}{
		{"811218-9876", " ", KindPersonnummer},
		{"anna.andersson@example.se", " ", KindEmail},
		{"070-123 45 67", ";", KindPhone},
		{secret, ".", KindSecret},
		{pnr12, "a", ""}, // glued to hex letters: nothing
		{"0701234567", "b", ""},
	}
	for _, c := range cases {
		step := 1
		if len(c.token) > 100 {
			step = 13
		}
		for pos := 0; pos+len(c.token) <= n; pos += step {
			line := strings.Repeat(c.filler, pos) + c.token + strings.Repeat(c.filler, n-pos-len(c.token))
			fs, err := s.ScanText("long.txt", strings.NewReader("first\n"+line+"\nlast"))
			if err != nil {
				t.Fatal(err)
			}
			if c.kind == "" {
				if len(fs) != 0 {
					t.Fatalf("%q at %d: got %v, want nothing", c.token[:4], pos, fs)
				}
				continue
			}
			if len(fs) != 1 || fs[0].Kind != c.kind || fs[0].Location != "line 2" {
				t.Fatalf("%s at %d: got %v", c.kind, pos, fs)
			}
		}
	}
}

func TestLimitPerFile(t *testing.T) {
	var b strings.Builder
	for range 250 {
		b.WriteString("anna.andersson@example.se\n")
	}
	s := scanner()
	s.MaxPerFile = 10
	fs, err := s.ScanText("many.txt", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 11 {
		t.Fatalf("got %d findings, want 10 + 1 summary", len(fs))
	}
	if fs[10].Location != "+240 more (not listed)" || fs[10].Kind != KindEmail {
		t.Errorf("summary = %v", fs[10])
	}
	s.MaxPerFile = -1
	fs, _ = s.ScanText("many.txt", strings.NewReader(b.String()))
	if len(fs) != 250 {
		t.Errorf("unlimited: got %d findings", len(fs))
	}
}

// parquetRow is a lake-like row with a few leaks planted by the tests.
type parquetRow struct {
	Pseudonym [16]byte `parquet:"pseudonym,uuid"`
	Measure   string   `parquet:"measure,dict"`
	Note      *string  `parquet:"note,optional"`
	Count     int64    `parquet:"count"`
	Small     int32    `parquet:"small"`
	Amount    float64  `parquet:"amount"`
	Blob      []byte   `parquet:"blob"`
	Tags      []string `parquet:"tags,list"`
}

func writeParquet[T any](t testing.TB, path string, rows []T, opts ...parquet.WriterOption) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[T](f, opts...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestParquet(t *testing.T) {
	dir := t.TempDir()
	rows := make([]parquetRow, 1000)
	for i := range rows {
		r := &rows[i]
		// Pseudonyms that hold identifier and phone digits as ASCII: a
		// fixed-length column is never scanned for them.
		copy(r.Pseudonym[:], "-"+pnr10+"-0701")
		r.Measure = []string{"AMEA", "SFI", "UKA-16-19"}[i%3]
		r.Count = int64(i)
		r.Small = int32(i * 1000)
		r.Amount = float64(i) + 0.5
		r.Blob = []byte{0xff, 0xfe, 'a', '@', 'b', '.', 's', 'e'} // not UTF-8: e-mail shape ignored
		r.Tags = []string{"k", "2024-03-15"}
	}
	note := "kontakt anna.andersson@example.se"
	rows[341].Measure = "AMEA " + pnr12
	rows[342].Note = &note
	rows[600].Count = 198112189876
	rows[601].Small = 301012381 // 0301012381 without its leading zero
	rows[602].Amount = 8112189876
	rows[603].Blob = []byte("\xff;" + pnr10 + ";")
	rows[604].Tags = []string{"x", "070-123 45 67"}
	rows[999].Measure = snr12
	path := filepath.Join(dir, "part-0.parquet")
	writeParquet(t, path, rows,
		parquet.MaxRowsPerRowGroup(500),
		parquet.KeyValueMetadata("gallra.note", "written by anna.andersson@example.se"),
		parquet.KeyValueMetadata("gallra.run", "20261123T054000Z-1a2b"))

	fs, err := scanner().ScanFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want(t, fs, path, "file metadata", KindEmail)
	want(t, fs, path, `row group 0, column "measure", row 341`, KindPersonnummer)
	want(t, fs, path, `row group 0, column "note", row 342`, KindEmail)
	want(t, fs, path, `row group 1, column "count", row 100`, KindPersonnummer)
	want(t, fs, path, `row group 1, column "small", row 101`, KindPersonnummer)
	want(t, fs, path, `row group 1, column "amount", row 102`, KindPersonnummer)
	want(t, fs, path, `row group 1, column "blob", row 103`, KindPersonnummer)
	want(t, fs, path, `row group 1, column "tags.list.element", row 104`, KindPhone)
	want(t, fs, path, `row group 1, column "measure", row 499`, KindSamordningsnummer)
	if len(fs) != 9 {
		t.Errorf("got %d findings, want 9: %v", len(fs), fs)
	}
	for _, f := range fs {
		if strings.Contains(f.Location, "pseudonym") {
			t.Errorf("fixed-length pseudonym column flagged: %v", f)
		}
	}
	assertNoLeak(t, fs, err)

	// Stats through ScanDir.
	_, st, err := scanner().ScanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.ParquetFiles != 1 || st.Files != 1 || st.Values != 7001 {
		// measure, count, small, amount, blob: 1000 each; tags: 2000; note: 1
		// non-null; the fixed-length pseudonyms are not read without secrets.
		t.Errorf("stats = %+v", st)
	}
}

func TestParquetSecretsInFixedLen(t *testing.T) {
	dir := t.TempDir()
	key := []byte("0123456789abcdef")
	rows := []parquetRow{{Measure: "AMEA"}, {Measure: "SFI"}}
	copy(rows[1].Pseudonym[:], key)
	path := filepath.Join(dir, "p.parquet")
	writeParquet(t, path, rows)
	s := scanner()
	s.Secrets = []string{string(key)}
	fs, err := s.ScanFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want(t, fs, path, `row group 0, column "pseudonym", row 1`, KindSecret)
	if len(fs) != 1 {
		t.Errorf("got %v", fs)
	}
}

func TestParquetColumnNameRedacted(t *testing.T) {
	type leakyRow struct {
		A string `parquet:"id"`
		B string `parquet:"pnr_198112189876"`
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "p.parquet")
	writeParquet(t, path, []leakyRow{{"1", "x"}, {"2", "anna.andersson@example.se"}})
	fs, err := scanner().ScanFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want(t, fs, path, "schema, column #2", KindPersonnummer)
	want(t, fs, path, "row group 0, column #2, row 1", KindEmail)
	assertNoLeak(t, fs, err)
}

func TestCorruptParquetIsAnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pnr="+pnr12, "bad.parquet")
	writeFile(t, path, []byte("PAR1 this is not a parquet file, just its magic PAR1"))
	fs, st, err := scanner().ScanDir(dir)
	var fe *FileError
	if !errors.As(err, &fe) || fe.Reason != "parquet" {
		t.Fatalf("err = %v, want a parquet FileError", err)
	}
	if !strings.Contains(fe.File, Redacted) || !strings.Contains(err.Error(), "bad.parquet") {
		t.Errorf("error does not name the (redacted) file: %v", err)
	}
	want(t, fs, filepath.Join(dir, Redacted), "path", KindPersonnummer)
	if st.Files != 1 || st.ParquetFiles != 0 {
		t.Errorf("stats = %+v", st)
	}
	assertNoLeak(t, fs, err)
}

func TestXLSX(t *testing.T) {
	dir := t.TempDir()
	x := excelize.NewFile()
	x.SetCellValue("Sheet1", "A1", "Kommun")
	x.SetCellValue("Sheet1", "B7", "anna.andersson@example.se")
	x.SetCellValue("Sheet1", "C2", "2024-03-15")
	x.SetCellValue("Sheet1", "D2", 12345.67)
	if _, err := x.NewSheet("Deltagare"); err != nil {
		t.Fatal(err)
	}
	x.SetCellValue("Deltagare", "C3", int64(198112189876))
	x.SetCellValue("Deltagare", "D4", 301012381) // lost its leading zero
	x.SetCellValue("Deltagare", "E5", "070-123 45 67")
	// A number whose format shows the identifier that its raw value has lost
	// the leading zero of.
	style, err := x.NewStyle(&excelize.Style{CustomNumFmt: ptr("000000-0000")})
	if err != nil {
		t.Fatal(err)
	}
	x.SetCellValue("Deltagare", "F6", 301012381)
	x.SetCellStyle("Deltagare", "F6", "F6", style)
	if _, err := x.NewSheet(pnr12); err != nil {
		t.Fatal(err)
	}
	x.SetCellValue(pnr12, "A1", "ok")
	x.SetDocProps(&excelize.DocProperties{Creator: "anna.andersson@example.se"})
	if err := x.AddComment("Sheet1", excelize.Comment{Cell: "A1", Author: "x", Text: "ring 08-123 456 78"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "book.xlsx")
	if err := x.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	fs, err := scanner().ScanFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want(t, fs, path, "sheet Sheet1, cell B7", KindEmail)
	want(t, fs, path, "sheet Deltagare, cell C3", KindPersonnummer)
	want(t, fs, path, "sheet Deltagare, cell D4", KindPersonnummer)
	want(t, fs, path, "sheet Deltagare, cell E5", KindPhone)
	want(t, fs, path, "sheet Deltagare, cell F6", KindPersonnummer)
	want(t, fs, path, "sheet #3 name", KindPersonnummer)
	for _, f := range fs {
		if strings.HasPrefix(f.Location, "sheet Sheet1, cell C2") || strings.HasPrefix(f.Location, "sheet Sheet1, cell D2") {
			t.Errorf("false positive %v", f)
		}
	}
	var core, comments bool
	for _, f := range fs {
		core = core || strings.HasPrefix(f.Location, "part docProps/core.xml") && f.Kind == KindEmail
		comments = comments || strings.HasPrefix(f.Location, "part xl/comments") && f.Kind == KindPhone
		if strings.HasPrefix(f.Location, "part xl/worksheets/") || strings.HasPrefix(f.Location, "part xl/sharedStrings") {
			t.Errorf("cell finding repeated at part level: %v", f)
		}
	}
	if !core || !comments {
		t.Errorf("document properties (%v) or comment (%v) not found: %v", core, comments, fs)
	}
	assertNoLeak(t, fs, err)
}

func ptr[T any](v T) *T { return &v }

func TestScanDir(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	reports := filepath.Join(dir, "reports")

	clean := make([]parquetRow, 10)
	for i := range clean {
		clean[i].Measure = "AMEA"
		clean[i].Pseudonym = [16]byte{1, 2, byte(i)}
	}
	part := filepath.Join(lake, "source=ame", "start_year=2024")
	os.MkdirAll(part, 0o755)
	writeParquet(t, filepath.Join(part, "part-1.parquet"), clean)
	os.MkdirAll(filepath.Join(lake, "_staging", "run1"), 0o755)
	writeParquet(t, filepath.Join(lake, "_staging", "run1", "part-2.parquet.tmp"), clean)
	writeFile(t, filepath.Join(lake, "pnr="+pnr12, "empty.json"), []byte("{}\n"))
	os.MkdirAll(filepath.Join(lake, "08-123 456 78"), 0o755) // an empty directory is still a leak

	writeFile(t, filepath.Join(reports, "run.json"), []byte("{\n\"ok\": true,\n\"by\": \"anna.andersson@example.se\"\n}\n"))
	writeFile(t, filepath.Join(reports, "notes.md"), []byte("# Run 20261123T054000Z-1a2b\n\nAll good, 2024-03-15.\n"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(pnr12))
	zw.Close()
	writeFile(t, filepath.Join(reports, "old.json.gz"), gz.Bytes())
	var zb bytes.Buffer
	zz := zip.NewWriter(&zb)
	w, _ := zz.Create("a.txt")
	w.Write([]byte(pnr12))
	zz.Close()
	writeFile(t, filepath.Join(reports, "bundle.zip"), zb.Bytes())
	if err := os.Symlink(filepath.Join("..", "lake"), filepath.Join(reports, "lake-link")); err != nil {
		t.Fatal(err)
	}
	x := excelize.NewFile()
	x.SetCellValue("Sheet1", "A1", "Antal")
	x.SetCellValue("Sheet1", "A2", 42)
	if err := x.SaveAs(filepath.Join(reports, "table.xlsx")); err != nil {
		t.Fatal(err)
	}

	fs, st, err := scanner().ScanDir(lake, reports)
	if err != nil {
		t.Fatal(err)
	}
	want(t, fs, filepath.Join(lake, Redacted), "path", KindPersonnummer)
	want(t, fs, filepath.Join(lake, Redacted), "path", KindPhone)
	want(t, fs, filepath.Join(reports, "run.json"), "line 3", KindEmail)
	if len(fs) != 3 {
		t.Errorf("got %d findings, want 3: %v", len(fs), fs)
	}
	assertNoLeak(t, fs, err)

	wantUnscannable := []string{
		filepath.Join(reports, "bundle.zip"),
		filepath.Join(reports, "lake-link"),
		filepath.Join(reports, "old.json.gz"),
	}
	got := slices.Clone(st.Unscannable)
	slices.Sort(got)
	if !slices.Equal(got, wantUnscannable) {
		t.Errorf("Unscannable = %v, want %v", got, wantUnscannable)
	}
	if st.Files != 9 || st.ParquetFiles != 2 || st.TextFiles != 3 || st.XLSXFiles != 1 || st.Skipped != 3 {
		t.Errorf("stats = %+v", st)
	}

	// A root that is a symbolic link is followed, and paths keep its name.
	link := filepath.Join(dir, "reports-link")
	os.Symlink(reports, link)
	fs, _, err = scanner().ScanDir(link)
	if err != nil {
		t.Fatal(err)
	}
	want(t, fs, filepath.Join(link, "run.json"), "line 3", KindEmail)

	// A missing root is an error that names it.
	_, _, err = scanner().ScanDir(filepath.Join(dir, "missing"))
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing root: err = %v", err)
	}
}

func TestUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, pnr12+".csv")
	writeFile(t, p, []byte("x\n"))
	os.Chmod(p, 0)
	writeFile(t, filepath.Join(dir, "b.txt"), []byte("anna.andersson@example.se\n"))
	fs, st, err := scanner().ScanDir(dir)
	var fe *FileError
	if !errors.As(err, &fe) || fe.Reason != "open" || !strings.Contains(err.Error(), Redacted+".csv") {
		t.Fatalf("err = %v", err)
	}
	if st.TextFiles != 1 || len(fs) != 2 {
		t.Errorf("scan did not go on: %+v %v", st, fs)
	}
	assertNoLeak(t, fs, err)
}

func TestFileErrorWithholdsIdentifyingDetail(t *testing.T) {
	sc, err := scanner().newScan()
	if err != nil {
		t.Fatal(err)
	}
	fe := sc.fileError("f", "", "parquet", errors.New("bad value "+pnr12))
	if strings.Contains(fe.Error(), pnr12) || !strings.Contains(fe.Error(), "withheld") {
		t.Errorf("got %q", fe.Error())
	}
	fe = sc.fileError("dir/"+Redacted, "dir/"+pnr12, "open", &os.PathError{Op: "open", Path: "dir/" + pnr12, Err: os.ErrPermission})
	if strings.Contains(fe.Error(), pnr12) || !strings.Contains(fe.Error(), "permission denied") {
		t.Errorf("got %q", fe.Error())
	}
	if !errors.Is(fe, os.ErrPermission) {
		t.Error("FileError does not unwrap")
	}
}

// BenchmarkScanParquet scans a file of 1M string values (plus as many
// fixed-length pseudonyms, skipped) shaped like the lake's measure column.
func BenchmarkScanParquet(b *testing.B) {
	type row struct {
		Pseudonym [16]byte `parquet:"pseudonym,uuid"`
		Measure   string   `parquet:"measure"`
	}
	const n = 1 << 20
	rows := make([]row, n)
	for i := range rows {
		binary.LittleEndian.PutUint64(rows[i].Pseudonym[:], uint64(i)*0x9e3779b97f4a7c15)
		// Distinct values (no dictionary) with digits, dashes and an id.
		rows[i].Measure = "AMEA-" + strconv.Itoa(i%97) + "-2024-03-15-run-20261123T054000Z-" + strconv.Itoa(i)
	}
	path := filepath.Join(b.TempDir(), "bench.parquet")
	writeParquet(b, path, rows, parquet.MaxRowsPerRowGroup(1<<20))
	s := scanner()
	b.ResetTimer()
	var values int64
	for b.Loop() {
		fs, st, err := s.ScanDir(path)
		if err != nil || len(fs) != 0 {
			b.Fatal(err, fs)
		}
		values = st.Values
	}
	b.ReportMetric(float64(values)*float64(b.N)/b.Elapsed().Seconds(), "values/s")
}

func TestNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	// Neither call may block on the pipe.
	if _, err := scanner().ScanFile(fifo); !errors.Is(err, ErrUnscannable) {
		t.Errorf("ScanFile(fifo): err = %v, want ErrUnscannable", err)
	}
	if _, err := scanner().ScanFile(dir); !errors.Is(err, ErrUnscannable) {
		t.Errorf("ScanFile(dir): err = %v, want ErrUnscannable", err)
	}
	_, st, err := scanner().ScanDir(dir)
	if err != nil || len(st.Unscannable) != 1 || st.Unscannable[0] != fifo || st.Skipped != 1 {
		t.Errorf("ScanDir: %+v, %v", st, err)
	}
}

func TestSecretsEverywhere(t *testing.T) {
	key := []byte("\x01\x02\x03 not a real key, 32 bytes...")
	forms := SecretForms(key)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "log.txt"), []byte("key="+forms[2]+"\n"))
	writeFile(t, filepath.Join(dir, "k-"+forms[1], "x.txt"), []byte("fine\n"))
	writeParquet(t, filepath.Join(dir, "m.parquet"), []parquetRow{{Measure: "AMEA"}},
		parquet.KeyValueMetadata("key", forms[3]))
	x := excelize.NewFile()
	x.SetCellValue("Sheet1", "C3", "nyckel: "+forms[len(forms)-1])
	if err := x.SaveAs(filepath.Join(dir, "book.xlsx")); err != nil {
		t.Fatal(err)
	}
	s := scanner()
	s.Secrets = forms
	fs, _, err := s.ScanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want(t, fs, filepath.Join(dir, "log.txt"), "line 1", KindSecret)
	want(t, fs, filepath.Join(dir, Redacted), "path", KindSecret)
	want(t, fs, filepath.Join(dir, "m.parquet"), "file metadata", KindSecret)
	want(t, fs, filepath.Join(dir, "book.xlsx"), "sheet Sheet1, cell C3", KindSecret)
	for _, f := range fs {
		for _, form := range forms {
			if strings.Contains(f.String(), form[:8]) {
				t.Errorf("finding %v repeats key material", f)
			}
		}
	}
}
