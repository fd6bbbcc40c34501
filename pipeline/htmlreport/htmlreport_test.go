package htmlreport

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/transforms/table"
)

func TestReportIsSelfContainedAndHidesSuppressedCells(t *testing.T) {
	tb := table.New(
		table.Dimension{Code: "measure", Label: "Åtgärd", Total: "TOTAL", Categories: []table.Category{{Code: "PRAKTIK", Label: "Praktik"}, {Code: "SFI", Label: "Svenska för invandrare"}, {Code: "TOTAL", Label: "Totalt"}}},
		table.Dimension{Code: "year", Label: "År", Time: true, Categories: []table.Category{{Code: "2024", Label: "2024"}, {Code: "2025", Label: "2025"}}},
	)
	copy(tb.Values, []float64{11, 13, 987654, 40, 15, 52})
	tb.Status[2] = table.StatusSuppressed // SFI 2024
	tb.Title, tb.Unit, tb.Method = "Deltagare <per> åtgärd", "antal personer", "suppression"
	var b bytes.Buffer
	if err := Write(&b, "Rapport", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), []*table.Table{tb}, "Tabellen per <kön> saknas."); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	if !strings.Contains(html, `<p class="meta">Tabellen per &lt;kön&gt; saknas.</p>`) {
		t.Error("the page note is missing or not escaped")
	}
	if strings.Contains(html, "987654") {
		t.Error("the report shows a suppressed value")
	}
	if !strings.Contains(html, "<td>..</td>") {
		t.Error("the suppressed cell is not shown as ..")
	}
	for _, bad := range []string{"<script", "<link", "@import", "src=\"http", "href=\"http"} {
		if strings.Contains(html, bad) {
			t.Errorf("the page loads something from outside: %s", bad)
		}
	}
	if strings.Contains(html, "<per>") || !strings.Contains(html, "Deltagare &lt;per&gt; åtgärd") {
		t.Error("the title is not escaped")
	}
	// Two lines (Praktik, SFI) but not the total; SFI has one point (2025)
	// after its suppressed 2024, drawn as a dot.
	if n := strings.Count(html, "<polyline"); n != 1 {
		t.Errorf("%d polylines, want 1 (Praktik)", n)
	}
	if n := strings.Count(html, "<circle"); n != 1 {
		t.Errorf("%d dots, want 1 (SFI 2025)", n)
	}
	if !strings.Contains(html, "<tr class=\"total\"><td>Totalt</td><td>15</td><td>52</td>") {
		t.Error("the total row is missing or wrong")
	}
}

func TestNeedsATimeDimension(t *testing.T) {
	tb := table.New(table.Dimension{Code: "measure", Categories: []table.Category{{Code: "A"}}})
	if err := Write(&bytes.Buffer{}, "x", time.Now(), []*table.Table{tb}); err == nil {
		t.Error("a table without a time dimension was accepted")
	}
}
