// Package htmlreport writes the statistics report: one self-contained HTML
// page (no scripts, no fonts, nothing fetched from the network) with each
// protected table as a table and as a chart over the years. The charts are
// drawn from the same protected numbers the exports hold; suppressed cells
// are gaps, never values.
package htmlreport

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"

	"github.com/gallra/gallra/transforms/table"
)

// Write renders the report of the given protected tables. Each table must
// have a time dimension; the chart draws one line per category of the first
// other dimension (its total category included), over the time dimension.
// notes are shown under the page's heading (e.g. why a table is missing).
func Write(w io.Writer, title string, generated time.Time, tables []*table.Table, notes ...string) error {
	var sections []section
	for _, t := range tables {
		s, err := build(t)
		if err != nil {
			return err
		}
		sections = append(sections, s)
	}
	return page.Execute(w, struct {
		Title     string
		Generated string
		Notes     []string
		Sections  []section
	}{title, generated.UTC().Format("2006-01-02 15:04 UTC"), notes, sections})
}

type section struct {
	Title, Unit, Source, RefPeriod, Method string
	Notes                                  []string
	Header                                 []string
	Rows                                   []row
	Chart                                  template.HTML
}

type row struct {
	Label string
	Cells []string
	Total bool
}

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

// build lays out a table with its time dimension as columns and the first
// other dimension as rows (a table with more dimensions shows their totals).
func build(t *table.Table) (section, error) {
	if err := t.Validate(); err != nil {
		return section{}, err
	}
	ti, ri := -1, -1
	for i, d := range t.Dims {
		if d.Time && ti < 0 {
			ti = i
		} else if ri < 0 {
			ri = i
		}
	}
	if ti < 0 || ri < 0 {
		return section{}, fmt.Errorf("htmlreport: table %s needs a time dimension and one other", t.ID)
	}
	s := section{Title: t.Title, Unit: t.Unit, Source: t.Source, RefPeriod: t.RefPeriod, Method: t.Method, Notes: t.Notes}
	timeDim, rowDim := t.Dims[ti], t.Dims[ri]
	var cols []int // time categories drawn (the time total is a column, not a point)
	for c, cat := range timeDim.Categories {
		s.Header = append(s.Header, cat.Label)
		if cat.Code != timeDim.Total {
			cols = append(cols, c)
		}
	}
	pos := make([]int, len(t.Dims))
	for i, d := range t.Dims { // other dimensions at their total, or their first category
		if i != ti && i != ri {
			pos[i] = max(d.Index(d.Total), 0)
		}
	}
	type series struct {
		label string
		vals  []float64 // NaN: suppressed
	}
	var lines []series
	top := 0.0
	for r, cat := range rowDim.Categories {
		pos[ri] = r
		rw := row{Label: cat.Label, Total: cat.Code == rowDim.Total}
		var sr series
		sr.label = cat.Label
		for c := range timeDim.Categories {
			pos[ti] = c
			off := t.Offset(pos...)
			if t.Status[off] == table.StatusSuppressed {
				rw.Cells = append(rw.Cells, "..")
			} else {
				rw.Cells = append(rw.Cells, fmt.Sprintf("%.0f", t.Values[off]))
			}
		}
		for _, c := range cols {
			pos[ti] = c
			off := t.Offset(pos...)
			v := t.Values[off]
			if t.Status[off] == table.StatusSuppressed {
				v = math.NaN()
			} else if v > top && !rw.Total {
				top = v
			}
			sr.vals = append(sr.vals, v)
		}
		s.Rows = append(s.Rows, rw)
		if !rw.Total {
			lines = append(lines, sr)
		}
	}

	// The chart: one polyline per row category (gaps where suppressed).
	const W, H, L, B, T, R = 760.0, 300.0, 50.0, 30.0, 10.0, 25.0
	if top == 0 {
		top = 1
	}
	x := func(i int) float64 {
		if len(cols) == 1 {
			return L + (W-L-R)/2
		}
		return L + float64(i)*(W-L-R)/float64(len(cols)-1)
	}
	y := func(v float64) float64 { return H - B - v/top*(H-B-T) }
	var svg strings.Builder
	fmt.Fprintf(&svg, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, W, H, template.HTMLEscapeString(t.Title))
	fmt.Fprintf(&svg, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#333"/>`, L, H-B, W-R, H-B)
	fmt.Fprintf(&svg, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#333"/>`, L, T, L, H-B)
	fmt.Fprintf(&svg, `<text x="%.0f" y="%.0f" font-size="11" text-anchor="end">%.0f</text>`, L-4, T+8, top)
	fmt.Fprintf(&svg, `<text x="%.0f" y="%.0f" font-size="11" text-anchor="end">0</text>`, L-4, H-B)
	for i, c := range cols {
		fmt.Fprintf(&svg, `<text x="%.1f" y="%.0f" font-size="11" text-anchor="middle">%s</text>`, x(i), H-B+16, template.HTMLEscapeString(timeDim.Categories[c].Label))
	}
	for li, sr := range lines {
		color := palette[li%len(palette)]
		var pts []string
		flush := func() {
			if len(pts) > 1 {
				fmt.Fprintf(&svg, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"><title>%s</title></polyline>`, color, strings.Join(pts, " "), template.HTMLEscapeString(sr.label))
			} else if len(pts) == 1 {
				var px, py float64
				fmt.Sscanf(pts[0], "%f,%f", &px, &py)
				fmt.Fprintf(&svg, `<circle cx="%.1f" cy="%.1f" r="2" fill="%s"><title>%s</title></circle>`, px, py, color, template.HTMLEscapeString(sr.label))
			}
			pts = pts[:0]
		}
		for i, v := range sr.vals {
			if math.IsNaN(v) {
				flush()
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
		}
		flush()
	}
	svg.WriteString(`</svg>`)
	var legend strings.Builder
	for li, sr := range lines {
		fmt.Fprintf(&legend, `<span class="key"><span class="sw" style="background:%s"></span>%s</span> `, palette[li%len(palette)], template.HTMLEscapeString(sr.label))
	}
	s.Chart = template.HTML(svg.String() + `<p class="legend">` + legend.String() + `</p>`)
	return s, nil
}

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222;padding:0 1em}
table{border-collapse:collapse;font-size:13px;margin:1em 0}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}
th:first-child,td:first-child{text-align:left}
tr.total td{font-weight:bold;background:#f4f4f4}
.meta{color:#555;font-size:13px}
.legend{font-size:12px}.key{margin-right:1em;white-space:nowrap}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px}
svg{width:100%;height:auto;border:1px solid #eee}
</style></head><body>
<h1>{{.Title}}</h1>
<p class="meta">Framställd {{.Generated}}. Alla tal är skyddade med röjandekontroll; ".." = uppgiften redovisas inte av sekretesskäl.</p>
{{range .Notes}}<p class="meta">{{.}}</p>
{{end}}{{range .Sections}}<section>
<h2>{{.Title}}</h2>
<p class="meta">Enhet: {{.Unit}}. Period: {{.RefPeriod}}. Källa: {{.Source}}.<br>Röjandekontroll: {{.Method}}</p>
{{.Chart}}
<table><thead><tr><th></th>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr{{if .Total}} class="total"{{end}}><td>{{.Label}}</td>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody></table>
{{range .Notes}}<p class="meta">{{.}}</p>{{end}}
</section>{{end}}
</body></html>
`))
